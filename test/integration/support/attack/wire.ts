/**
 * The attacker's codec per command, taken from docs/protocol.md version 2 rather than from src/protocol/card.ts:
 * these tests hold the CARD to the document and send what no honest host would, so they must not share a parsing
 * mistake with the host layer. The vocabulary (instruction codes, tags, states, status words, the AID, the signed
 * messages, the certificate format 02, the strict SELECT and READ parsers) is the conformance suite's
 * (src/conformance/wire.ts): the other attacker host, written from the same document and just as independent of
 * src/protocol, so the two attacker hosts share one reading instead of keeping two that could drift. The version 1
 * backup INS values come from there too: version 2 drops them from the host, and they must answer 6D00.
 */
import { command, encodeProtocolTlvs, TlvRecord, toHex, type CommandApdu } from '../../../../src/apdu/index.js';
import { exportData, importData } from '../../../../src/conformance/harness.js';
import { validatePublicKey } from '../../../../src/protocol/crypto.js';
import {
  AID,
  certificateMessage,
  encodeCertificate,
  Ins as INS,
  parseRead as parseReadStrictly,
  parseSelect as parseSelectStrictly,
  prepareMessage,
  sealMessage,
  Sw as SW,
  swHex,
  Tag as TAG,
  V1_BACKUP_INS,
  type ReadInfo,
  type StateName as State,
} from '../../../../src/conformance/wire.js';

export { certificateMessage, encodeCertificate, INS, prepareMessage, sealMessage, SW, swHex, TAG, V1_BACKUP_INS, type State };

const CLA = 0x80;
const NE = 256;

// ---------------------------------------------------------------------------------------------
// Commands

export function cmd(ins: number, data?: Uint8Array, ne = 0): CommandApdu {
  return command(CLA, ins, 0x00, 0x00, data, ne);
}

export const selectCommand = (): CommandApdu => command(0x00, INS.SELECT, 0x04, 0x00, AID, NE);
export const readCommand = (): CommandApdu => cmd(INS.READ, undefined, NE);
/** The plain forms of the commands that go wrapped (section 1.4): what the payload is; host.ts wraps them. */
export const verifyPinCommand = (pin: Uint8Array): CommandApdu => cmd(INS.VERIFY_PIN, pin);
export const changeAccessCodeCommand = (current: Uint8Array, next: Uint8Array): CommandApdu =>
  cmd(
    INS.CHANGE_ACCESS_CODE,
    encodeProtocolTlvs([
      [TAG.ACCESS_CODE, current],
      [TAG.NEW_ACCESS_CODE, next],
    ]),
  );
export const resetCommand = (pin: Uint8Array): CommandApdu => cmd(INS.RESET, pin);
export const createWalletCommand = (pin: Uint8Array): CommandApdu => cmd(INS.CREATE_WALLET, pin, NE);
export const signCommand = (digest: Uint8Array): CommandApdu => cmd(INS.SIGN, digest, NE);
export const prepareCommand = (): CommandApdu => cmd(INS.BACKUP_PREPARE, undefined, NE);
export const cancelCommand = (): CommandApdu => cmd(INS.BACKUP_CANCEL);
export const finalizeCommand = (): CommandApdu => cmd(INS.BACKUP_FINALIZE, undefined, NE);

/** A prepare offer the host saw, with the certificate of the card that made it. */
export interface Offer {
  readonly backupId: Uint8Array;
  readonly certificate: Uint8Array;
  readonly eb: Uint8Array;
  readonly signature: Uint8Array;
}

/** What a primary answered to BACKUP_EXPORT, with the offer it was asked for and its own certificate. */
export interface SealedExport {
  readonly primaryId: Uint8Array;
  readonly primaryCertificate: Uint8Array;
  /** The offer the export answered: its backup id and EB are what the seal must name. */
  readonly offer: Offer;
  readonly ep: Uint8Array;
  readonly seal: Uint8Array;
  readonly blob: Uint8Array;
}

/** BACKUP_EXPORT with the conformance suite's data field: `04 cert ‖ 13 41 EB ‖ 14 LL signature`. */
export function exportCommand(offer: Offer): CommandApdu {
  return cmd(INS.BACKUP_EXPORT, exportData(offer), NE);
}

/** BACKUP_IMPORT with the conformance suite's data field: `04 cert ‖ 11 41 EP ‖ 12 LL seal ‖ 15 81 C1 blob`. */
export function importCommand(sealed: SealedExport): CommandApdu {
  return cmd(
    INS.BACKUP_IMPORT,
    importData({ certificate: sealed.primaryCertificate, ep: sealed.ep, signature: sealed.seal, blob: sealed.blob }),
    NE,
  );
}

// ---------------------------------------------------------------------------------------------
// Responses: every field checked as section 6 lists it (a TlvError names what was wrong)

const SIGNATURE_LENGTH = { min: 8, max: 72 } as const;

function parse(data: Uint8Array, allowed: readonly number[], what: string): TlvRecord {
  return TlvRecord.parse(data, { allowed, what, ordered: true });
}

function expectConsumed(record: TlvRecord, tags: readonly number[]): void {
  const missing = tags.filter((t) => !record.has(t));
  if (missing.length > 0) throw new Error(`${record.what}: missing ${missing.map((t) => t.toString(16)).join(', ')}`);
}

export function parsePrepare(data: Uint8Array): { eb: Uint8Array; signature: Uint8Array } {
  const r = parse(data, [TAG.BACKUP_EPHEMERAL_KEY, TAG.PREPARE_SIGNATURE], 'BACKUP_PREPARE response');
  expectConsumed(r, [TAG.BACKUP_EPHEMERAL_KEY, TAG.PREPARE_SIGNATURE]);
  return {
    eb: validatePublicKey(r.required(TAG.BACKUP_EPHEMERAL_KEY, 65), 'EB'),
    signature: r.required(TAG.PREPARE_SIGNATURE, SIGNATURE_LENGTH),
  };
}

export function parseExport(data: Uint8Array): { ep: Uint8Array; seal: Uint8Array; blob: Uint8Array } {
  const r = parse(data, [TAG.PRIMARY_EPHEMERAL_KEY, TAG.SEAL_SIGNATURE, TAG.WALLET_BLOB], 'BACKUP_EXPORT response');
  return {
    ep: validatePublicKey(r.required(TAG.PRIMARY_EPHEMERAL_KEY, 65), 'EP'),
    seal: r.required(TAG.SEAL_SIGNATURE, SIGNATURE_LENGTH),
    blob: r.required(TAG.WALLET_BLOB, 193),
  };
}

export function parseFinalize(data: Uint8Array): number {
  return parse(data, [TAG.BACKUP_COUNT], 'BACKUP_FINALIZE response').required(TAG.BACKUP_COUNT, 1)[0]!;
}

export function parseImport(data: Uint8Array): { walletPublicKey: Uint8Array; result: number } {
  const r = parse(data, [TAG.WALLET_PUBLIC_KEY, TAG.IMPORT_RESULT], 'BACKUP_IMPORT response');
  return {
    walletPublicKey: validatePublicKey(r.required(TAG.WALLET_PUBLIC_KEY, 65), 'wallet public key'),
    result: r.required(TAG.IMPORT_RESULT, 1)[0]!,
  };
}

export function parseCreateWallet(data: Uint8Array): Uint8Array {
  const r = parse(data, [TAG.WALLET_PUBLIC_KEY], 'CREATE_WALLET response');
  return validatePublicKey(r.required(TAG.WALLET_PUBLIC_KEY, 65), 'wallet public key');
}

export function parseSign(data: Uint8Array): { signature: Uint8Array; counter: number } {
  const r = parse(data, [TAG.SIGNATURE, TAG.SIGN_COUNTER], 'SIGN response');
  const counter = r.required(TAG.SIGN_COUNTER, 4);
  return { signature: r.required(TAG.SIGNATURE, SIGNATURE_LENGTH), counter: new DataView(counter.buffer).getUint32(0) };
}

/** READ (section 6), as the invariants want it: the suite's ReadInfo with the origin named and the backup card ids in hex. */
export type CardView = Omit<ReadInfo, 'version' | 'walletOrigin' | 'backupCardIds'> & {
  readonly origin?: ReadInfo['walletOrigin'];
  readonly backupCardIds: readonly string[];
};

/**
 * READ, checked field by field against the state by the suite's strict parser (a ReadFormatError names the
 * first fault), as the invariants want it: the backup card ids in hex.
 */
export function parseRead(data: Uint8Array): CardView {
  const { version: _version, walletOrigin, backupCardIds, ...fields } = parseReadStrictly(data);
  return { ...fields, ...(walletOrigin && { origin: walletOrigin }), backupCardIds: backupCardIds.map(toHex) };
}

/** SELECT's answer, strictly: `01 01 02 ‖ 03 01 <state>` and nothing else. */
export function parseSelect(data: Uint8Array): State {
  return parseSelectStrictly(data).state;
}

// ---------------------------------------------------------------------------------------------
// PERSO_GENERATE's answer (section 6)

/** `0A 41 <identity public key> || 0E 41 <attestation public key>`. */
export function parsePersoGenerate(data: Uint8Array): { identityKey: Uint8Array; attestationKey: Uint8Array } {
  const r = parse(data, [TAG.IDENTITY_PUBLIC_KEY, TAG.ATTESTATION_PUBLIC_KEY], 'PERSO_GENERATE response');
  return {
    identityKey: validatePublicKey(r.required(TAG.IDENTITY_PUBLIC_KEY, 65), 'identity key'),
    attestationKey: validatePublicKey(r.required(TAG.ATTESTATION_PUBLIC_KEY, 65), 'attestation key'),
  };
}
