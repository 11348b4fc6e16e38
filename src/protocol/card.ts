/**
 * The twincard applet as seen from the host: one method per command of docs/protocol.md section 6.
 * Each method checks its arguments, sends the command through an {@link ApduChannel} (ISO chaining
 * is the channel's job), turns any status word but 9000 into a typed error, and parses the answer
 * strictly: every byte a card returns is hostile until it has been read as the protocol says.
 *
 * Works over any {@link ApduTransport}: a PC/SC card, a traced one, a transcript replay.
 * @module
 */
import {
  ApduChannel,
  command,
  encodeProtocolTlvs,
  SW_OK,
  TlvError,
  TlvRecord,
  type ApduTransport,
  type ChannelOptions,
  type CommandApdu,
  type LengthSpec,
} from '../apdu/index.js';
import {
  cardStateName,
  CLA_PROPRIETARY,
  ImportResult,
  Ins,
  IsoSw,
  PROTOCOL_VERSION,
  Size,
  Tag,
  TWINCARD_AID,
  WalletOrigin,
  type CardStateName,
  type CommandName,
} from './constants.js';
import { checkLength, checkWalletSignature, equalBytes, parseDerSignature, validatePublicKey, type WalletSignature } from './crypto.js';
import {
  CardRefusedError,
  CardSignatureError,
  InvalidPointError,
  MalformedResponseError,
  PinBlockedError,
  SignatureFormatError,
  UnsupportedVersionError,
  WrongPinError,
} from './errors.js';

/** What SELECT answers. */
export interface SelectInfo {
  readonly version: number;
  readonly state: CardStateName;
}

/** Where the wallet on a card came from. */
export type WalletOriginName = 'created' | 'imported';

/** What READ answers, checked for consistency with the card's state. */
export interface CardInfo {
  readonly version: number;
  readonly state: CardStateName;
  /** From BLANK on. */
  readonly cardId?: Uint8Array;
  /** The certificate's bytes, from BLANK on; parse and verify it with certificate.ts (attestation.ts does). */
  readonly certificate?: Uint8Array;
  /** In WALLET, BACKUP_EXPORTING and BACKED_UP. */
  readonly walletPublicKey?: Uint8Array;
  /** In WALLET, BACKUP_EXPORTING and BACKED_UP. */
  readonly walletOrigin?: WalletOriginName;
  /** A card whose wallet was imported: the id of the primary it came from. */
  readonly primaryId?: Uint8Array;
  readonly pinTriesLeft: number;
  readonly signCounter: number;
  /** Primary: the number of backup cards a wallet blob has left for (0..2); 0 on every other card. */
  readonly backupCount: number;
  /**
   * Primary: the ids of the backup cards a blob has left for, in the order of their first export
   * (invariant I2); `backupCount` of them, so empty on every other card.
   */
  readonly backupCardIds: readonly Uint8Array[];
}

/** BACKUP_PREPARE's answer: a backup card's ephemeral key, signed by its identity key. */
export interface PrepareOffer {
  /** EB, 65 bytes, a valid point. */
  readonly ephemeralKey: Uint8Array;
  /** The prepare signature, strict DER (NOT verified here: the caller knows the message and the key). */
  readonly signature: Uint8Array;
}

/** A backup card's certificate with its prepare offer: what BACKUP_EXPORT carries to the primary. */
export interface CertifiedPrepareOffer extends PrepareOffer {
  readonly certificate: Uint8Array;
}

/** BACKUP_EXPORT's answer: one wallet blob, sealed to one backup card's EB. */
export interface SealedExport {
  /** EP, 65 bytes, a valid point, made for this one export. */
  readonly ephemeralKey: Uint8Array;
  /** The seal signature, strict DER (NOT verified here). */
  readonly signature: Uint8Array;
  /** The 193-byte wallet blob (size checked only; its header is the caller's to check). */
  readonly blob: Uint8Array;
}

/** The primary's certificate with a sealed export: what BACKUP_IMPORT carries to the backup card. */
export interface CertifiedSealedExport extends SealedExport {
  readonly certificate: Uint8Array;
}

/** SIGN's result, verified. */
export interface SignResult extends WalletSignature {
  /** The card's signature counter after this signature. */
  readonly signCounter: number;
}

/** BACKUP_IMPORT's result. */
export interface ImportOutcome {
  readonly walletPublicKey: Uint8Array;
  /** True when the card had already imported this very blob (a retried step). */
  readonly alreadyImported: boolean;
}

const WALLET_STATES: ReadonlySet<CardStateName> = new Set(['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP']);
const NE_MAX = 256;

/**
 * A twincard applet behind a transport.
 * @example
 * const card = new TwincardCard(pcscCard);
 * await card.select();
 * const info = await card.read();
 * await card.verifyPin(pin);
 * const { der, compact } = await card.sign(digest, info.walletPublicKey!);
 */
export class TwincardCard {
  readonly #channel: ApduChannel;

  /**
   * @param transport bytes in, bytes out (a PC/SC card, a transcript replay, ...)
   * @param options channel options (command chaining size, extended length); the defaults suit
   *   the protocol, which uses short APDUs with chaining
   */
  constructor(transport: ApduTransport, options: ChannelOptions = {}) {
    this.#channel = new ApduChannel(transport, options);
  }

  /**
   * SELECT the applet by AID (`00 A4 04 00 0A F07477696E6361726401 00`). Clears the access-code
   * verification of a previous selection.
   * @returns the protocol version (always 2: another version is refused) and the card's state.
   * @throws CardRefusedError (e.g. `6A82` when the applet is not on the card); UnsupportedVersionError
   *   for a card of another protocol version; MalformedResponseError.
   * @example const { state } = await card.select(); // 'BLANK'
   */
  async select(): Promise<SelectInfo> {
    const data = await this.#send('SELECT', command(0x00, Ins.SELECT, 0x04, 0x00, TWINCARD_AID, NE_MAX));
    checkVersionFirst('SELECT', data);
    return this.#parse('SELECT', data, [Tag.VERSION, Tag.STATE], (r) => ({
      version: checkVersion('SELECT', r.required(Tag.VERSION, 1)),
      state: checkState('SELECT', r.required(Tag.STATE, 1)),
    }));
  }

  /**
   * READ the card's public status (`80 10 00 00 00`). The fields are checked against the state:
   * an id and certificate from BLANK on, a wallet key and origin exactly in the wallet states, a
   * primary id exactly for an imported wallet, backup card ids exactly when BACKUP_COUNT is not 0
   * (8 bytes each, distinct, none the card's own), and a count that only an exporting or finalized
   * primary may have.
   * @throws CardRefusedError; UnsupportedVersionError for a card of another protocol version;
   *   MalformedResponseError for anything the protocol does not allow.
   * @example const { state, cardId, walletPublicKey } = await card.read();
   */
  async read(): Promise<CardInfo> {
    const data = await this.#send('READ', this.#cmd(Ins.READ, undefined, NE_MAX));
    checkVersionFirst('READ', data);
    const allowed = [
      Tag.VERSION,
      Tag.STATE,
      Tag.CARD_ID,
      Tag.CERTIFICATE,
      Tag.WALLET_PUBLIC_KEY,
      Tag.WALLET_ORIGIN,
      Tag.PRIMARY_ID,
      Tag.PIN_TRIES_LEFT,
      Tag.SIGN_COUNTER,
      Tag.BACKUP_COUNT,
      Tag.BACKUP_CARD_IDS,
    ];
    return this.#parse('READ', data, allowed, (r) => {
      const version = checkVersion('READ', r.required(Tag.VERSION, 1));
      const state = checkState('READ', r.required(Tag.STATE, 1));
      const personalized = state !== 'FACTORY';
      const hasWallet = WALLET_STATES.has(state);
      const presence = (tag: number, name: string, expected: boolean, length: LengthSpec): Uint8Array | undefined => {
        const value = r.optional(tag, length);
        if ((value !== undefined) !== expected) {
          throw new MalformedResponseError('READ', `${name} ${expected ? 'missing' : 'present'} in state ${state}`);
        }
        return value;
      };
      const cardId = presence(Tag.CARD_ID, 'CARD_ID', personalized, Size.CARD_ID);
      const certificate = presence(Tag.CERTIFICATE, 'CERTIFICATE', personalized, {
        min: Size.CERTIFICATE_MIN,
        max: Size.CERTIFICATE_MAX,
      });
      const walletPublicKey = presence(Tag.WALLET_PUBLIC_KEY, 'WALLET_PUBLIC_KEY', hasWallet, Size.PUBLIC_KEY);
      const originByte = presence(Tag.WALLET_ORIGIN, 'WALLET_ORIGIN', hasWallet, 1);
      if (walletPublicKey !== undefined) validatePublicKey(walletPublicKey, 'wallet public key');
      const walletOrigin = originByte === undefined ? undefined : checkOrigin(originByte[0] as number, state);
      const primaryId = presence(Tag.PRIMARY_ID, 'PRIMARY_ID', walletOrigin === 'imported', Size.CARD_ID);
      if (primaryId !== undefined && cardId !== undefined && equalBytes(primaryId, cardId)) {
        throw new MalformedResponseError('READ', 'PRIMARY_ID is the card\'s own id');
      }
      const pinTriesLeft = r.required(Tag.PIN_TRIES_LEFT, 1)[0] as number;
      if (pinTriesLeft > Size.PIN_TRIES) {
        throw new MalformedResponseError('READ', `PIN_TRIES_LEFT is ${pinTriesLeft}, more than ${Size.PIN_TRIES}`);
      }
      const signCounter = readUint32(r.required(Tag.SIGN_COUNTER, Size.SIGN_COUNTER));
      const backupCount = r.required(Tag.BACKUP_COUNT, 1)[0] as number;
      if (backupCount > Size.MAX_BACKUPS) {
        throw new MalformedResponseError('READ', `BACKUP_COUNT is ${backupCount}, more than ${Size.MAX_BACKUPS}`);
      }
      // Only a primary from which a blob has left counts backup cards: BACKUP_EXPORTING, or BACKED_UP
      // with a wallet it created (it went through BACKUP_EXPORTING, so at least one).
      const exported = state === 'BACKUP_EXPORTING' || (state === 'BACKED_UP' && walletOrigin === 'created');
      if (exported !== backupCount > 0) {
        throw new MalformedResponseError(
          'READ',
          `BACKUP_COUNT is ${backupCount} in state ${state}${state === 'BACKED_UP' ? ` (wallet ${walletOrigin})` : ''}`,
        );
      }
      const backupCardIds = readBackupCardIds(r, backupCount, cardId);
      return {
        version,
        state,
        ...(cardId && { cardId }),
        ...(certificate && { certificate }),
        ...(walletPublicKey && { walletPublicKey }),
        ...(walletOrigin && { walletOrigin }),
        ...(primaryId && { primaryId }),
        pinTriesLeft,
        signCounter,
        backupCount,
        backupCardIds,
      };
    });
  }

  /**
   * VERIFY_PIN (`80 20 00 00 Lc <PIN>`): unlocks SIGN and the backup commands for this selection.
   * The access code is redacted from traces by `createTraceRedactor`.
   * @param pin the access code, 4..16 bytes (the caller owns and wipes it)
   * @throws WrongPinError with `triesLeft`; PinBlockedError (`6983`, or the last try used up);
   *   CardRefusedError (`6985` in a state without an access code); RangeError for a wrong-size PIN.
   */
  async verifyPin(pin: Uint8Array): Promise<void> {
    checkLength('PIN', pin, Size.PIN_MIN, Size.PIN_MAX);
    const cmd = this.#cmd(Ins.VERIFY_PIN, pin);
    try {
      expectEmpty('VERIFY_PIN', await this.#send('VERIFY_PIN', cmd));
    } finally {
      cmd.data.fill(0); // command() copied the access code
    }
  }

  /**
   * CREATE_WALLET (`80 30 00 00 Lc <PIN> 00`): the card generates the wallet key with its own RNG
   * and sets the access code; BLANK -> WALLET.
   * @param pin the new access code, 4..16 bytes
   * @returns the wallet public key (65 bytes, validated).
   * @throws CardRefusedError (`6985` unless BLANK); RangeError for a wrong-size PIN.
   */
  async createWallet(pin: Uint8Array): Promise<Uint8Array> {
    checkLength('PIN', pin, Size.PIN_MIN, Size.PIN_MAX);
    const cmd = this.#cmd(Ins.CREATE_WALLET, pin, NE_MAX);
    let data: Uint8Array;
    try {
      data = await this.#send('CREATE_WALLET', cmd);
    } finally {
      cmd.data.fill(0); // command() copied the access code
    }
    return this.#parse('CREATE_WALLET', data, [Tag.WALLET_PUBLIC_KEY], (r) =>
      validatePublicKey(r.required(Tag.WALLET_PUBLIC_KEY, Size.PUBLIC_KEY), 'wallet public key'),
    );
  }

  /**
   * SIGN (`80 32 00 00 20 <digest> 00`) with the wallet key. The answer is checked: strict DER,
   * normalised to low S, and verified over the digest under `walletPublicKey`.
   * @param digest the 32-byte hash to sign (the card signs it as given)
   * @param walletPublicKey the key the signature must verify under (READ's `walletPublicKey`)
   * @returns the low-S signature (DER and compact) and the card's new signature counter.
   * @throws CardRefusedError (`6982` access code not verified, `6985` no wallet);
   *   MalformedResponseError; CardSignatureError when the signature does not verify.
   * @example const { compact } = await card.sign(sha256(tx), info.walletPublicKey!);
   */
  async sign(digest: Uint8Array, walletPublicKey: Uint8Array): Promise<SignResult> {
    checkLength('digest', digest, Size.DIGEST);
    validatePublicKey(walletPublicKey, 'wallet public key');
    const data = await this.#send('SIGN', this.#cmd(Ins.SIGN, digest, NE_MAX));
    const { der, signCounter } = this.#parse('SIGN', data, [Tag.SIGNATURE, Tag.SIGN_COUNTER], (r) => ({
      der: signatureField(r, Tag.SIGNATURE, 'wallet signature'),
      signCounter: readUint32(r.required(Tag.SIGN_COUNTER, Size.SIGN_COUNTER)),
    }));
    const checked = checkWalletSignature(der, digest, walletPublicKey);
    if (checked === undefined) {
      throw new CardSignatureError('SIGN', 'the signature does not verify over the digest under the wallet public key');
    }
    return { ...checked, signCounter };
  }

  /**
   * ATTEST (`80 40 00 00 Lc <challenge> 00`): the identity key signs
   * `"TWINCARD:ATTEST1" || card id || challenge`. Use attestation.ts for a verdict.
   * @param challenge 16..32 fresh random bytes
   * @returns the DER signature (format checked, not verified).
   * @throws CardRefusedError (`6985` in FACTORY); MalformedResponseError; RangeError.
   */
  async attest(challenge: Uint8Array): Promise<Uint8Array> {
    checkLength('challenge', challenge, Size.CHALLENGE_MIN, Size.CHALLENGE_MAX);
    const data = await this.#send('ATTEST', this.#cmd(Ins.ATTEST, challenge, NE_MAX));
    return this.#parse('ATTEST', data, [Tag.SIGNATURE], (r) => signatureField(r, Tag.SIGNATURE, 'attestation signature'));
  }

  /**
   * BACKUP_PREPARE on a blank backup card (`80 60 00 00 00`): BLANK -> BACKUP_PENDING with a new
   * ephemeral pair (eB, EB); in BACKUP_PENDING the same EB again (a retried step; the signature is
   * made again and may differ).
   * @returns EB and the prepare signature (not verified here: the caller checks it with
   *   `prepareMessage` under the certified identity key).
   * @throws CardRefusedError (`6985` unless BLANK or BACKUP_PENDING); MalformedResponseError.
   */
  async backupPrepare(): Promise<PrepareOffer> {
    const data = await this.#send('BACKUP_PREPARE', this.#cmd(Ins.BACKUP_PREPARE, undefined, NE_MAX));
    return this.#parse('BACKUP_PREPARE', data, [Tag.BACKUP_EPHEMERAL_KEY, Tag.PREPARE_SIGNATURE], (r) => ({
      ephemeralKey: validatePublicKey(r.required(Tag.BACKUP_EPHEMERAL_KEY, Size.PUBLIC_KEY), 'EB'),
      signature: signatureField(r, Tag.PREPARE_SIGNATURE, 'prepare signature'),
    }));
  }

  /**
   * BACKUP_CANCEL on a backup card (`80 68 00 00 00`): BACKUP_PENDING -> BLANK, wiping eB, so no blob
   * sealed to the old EB can ever be imported; in BLANK it changes nothing (a retried step). Needs no
   * access code.
   * @throws CardRefusedError (`6985` unless BLANK or BACKUP_PENDING); MalformedResponseError.
   */
  async backupCancel(): Promise<void> {
    expectEmpty('BACKUP_CANCEL', await this.#send('BACKUP_CANCEL', this.#cmd(Ins.BACKUP_CANCEL, undefined, NE_MAX)));
  }

  /**
   * BACKUP_EXPORT on the primary (`80 62 00 00 Lc <data> 00`, chained when longer than a block):
   * hands it a backup card's certificate, EB and prepare signature; the primary checks them itself,
   * records the backup card's id and answers a wallet blob sealed to EB. The record is committed
   * before the answer leaves the card: once this is sent, the primary counts the card whether or not
   * the answer arrives. The answer is secret-bearing (the blob): redacted from traces.
   * @returns EP, the seal signature (not verified here) and the 193-byte blob (size checked only).
   * @throws CardRefusedError (`9A01`, `9A03`, `9A04`, `9A08`, `9A09`, `6982`, `6985`); MalformedResponseError.
   */
  async backupExport(backup: CertifiedPrepareOffer): Promise<SealedExport> {
    const payload = encodeProtocolTlvs([
      [Tag.CERTIFICATE, checkLength('certificate', backup.certificate, Size.CERTIFICATE_MIN, Size.CERTIFICATE_MAX)],
      [Tag.BACKUP_EPHEMERAL_KEY, checkLength('EB', backup.ephemeralKey, Size.PUBLIC_KEY)],
      [Tag.PREPARE_SIGNATURE, checkLength('prepare signature', backup.signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)],
    ]);
    const data = await this.#send('BACKUP_EXPORT', this.#cmd(Ins.BACKUP_EXPORT, payload, NE_MAX));
    const allowed = [Tag.PRIMARY_EPHEMERAL_KEY, Tag.SEAL_SIGNATURE, Tag.WALLET_BLOB];
    return this.#parse('BACKUP_EXPORT', data, allowed, (r) => ({
      ephemeralKey: validatePublicKey(r.required(Tag.PRIMARY_EPHEMERAL_KEY, Size.PUBLIC_KEY), 'EP'),
      signature: signatureField(r, Tag.SEAL_SIGNATURE, 'seal signature'),
      blob: r.required(Tag.WALLET_BLOB, Size.BLOB),
    }));
  }

  /**
   * BACKUP_FINALIZE on the primary (`80 64 00 00 00`): BACKUP_EXPORTING -> BACKED_UP, after which
   * the primary never exports again; answered the same when already finalized (a retried step).
   * Send it only once every blob the backup needs is saved.
   * @returns the number of backup cards (1 or 2), final.
   * @throws CardRefusedError (`6982`, `6985`); MalformedResponseError.
   */
  async backupFinalize(): Promise<number> {
    const data = await this.#send('BACKUP_FINALIZE', this.#cmd(Ins.BACKUP_FINALIZE, undefined, NE_MAX));
    return this.#parse('BACKUP_FINALIZE', data, [Tag.BACKUP_COUNT], (r) => backupCount('BACKUP_FINALIZE', r, 1));
  }

  /**
   * BACKUP_IMPORT on a backup card (`80 66 00 00 Lc <data> 00`, chained): hands it the primary's
   * certificate, EP, seal signature and blob; the card checks them against its own id and its own
   * current EB, then BACKUP_PENDING -> BACKED_UP. The same blob again is answered with
   * `alreadyImported` (a retried step). The data carries the blob: redacted from traces.
   * @returns the wallet public key the card now holds.
   * @throws CardRefusedError (`9A01`, `9A03`, `9A04`, `9A05`, `9A06`, `9A09`, `9A0A`, `6985`);
   *   MalformedResponseError.
   */
  async backupImport(primary: CertifiedSealedExport): Promise<ImportOutcome> {
    const payload = encodeProtocolTlvs([
      [Tag.CERTIFICATE, checkLength('certificate', primary.certificate, Size.CERTIFICATE_MIN, Size.CERTIFICATE_MAX)],
      [Tag.PRIMARY_EPHEMERAL_KEY, checkLength('EP', primary.ephemeralKey, Size.PUBLIC_KEY)],
      [Tag.SEAL_SIGNATURE, checkLength('seal signature', primary.signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)],
      [Tag.WALLET_BLOB, checkLength('wallet blob', primary.blob, Size.BLOB)],
    ]);
    const data = await this.#send('BACKUP_IMPORT', this.#cmd(Ins.BACKUP_IMPORT, payload, NE_MAX));
    return this.#parse('BACKUP_IMPORT', data, [Tag.WALLET_PUBLIC_KEY, Tag.IMPORT_RESULT], (r) => {
      const walletPublicKey = validatePublicKey(r.required(Tag.WALLET_PUBLIC_KEY, Size.PUBLIC_KEY), 'wallet public key');
      const result = r.required(Tag.IMPORT_RESULT, 1)[0] as number;
      if (result !== ImportResult.IMPORTED && result !== ImportResult.ALREADY_IMPORTED) {
        throw new MalformedResponseError('BACKUP_IMPORT', `IMPORT_RESULT ${result} is neither 00 nor 01`);
      }
      return { walletPublicKey, alreadyImported: result === ImportResult.ALREADY_IMPORTED };
    });
  }

  /**
   * PERSO_GENERATE (`80 F0 00 00 08 <card id> 00`), factory only: stores the id and generates the
   * identity key pair (a repeated call replaces both).
   * @returns the identity public key (validated).
   * @throws CardRefusedError (`6985` once personalized); MalformedResponseError.
   */
  async persoGenerate(cardId: Uint8Array): Promise<Uint8Array> {
    checkLength('card id', cardId, Size.CARD_ID);
    const data = await this.#send('PERSO_GENERATE', this.#cmd(Ins.PERSO_GENERATE, cardId, NE_MAX));
    return this.#parse('PERSO_GENERATE', data, [Tag.IDENTITY_PUBLIC_KEY], (r) =>
      validatePublicKey(r.required(Tag.IDENTITY_PUBLIC_KEY, Size.PUBLIC_KEY), 'identity public key'),
    );
  }

  /**
   * PERSO_COMMIT (`80 F2 00 00 Lc 0B LL <signature> 0D 41 <manufacturer key>`), factory only: the
   * card checks the manufacturer's signature over its own id and identity key, stores the
   * certificate and the manufacturer key, and moves to BLANK.
   * @throws CardRefusedError (`9A01` the signature is not over this card's data, `9A04`, `6985`).
   */
  async persoCommit(signature: Uint8Array, manufacturerPublicKey: Uint8Array): Promise<void> {
    const payload = encodeProtocolTlvs([
      [Tag.SIGNATURE, checkLength('signature', signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)],
      [Tag.MANUFACTURER_PUBLIC_KEY, checkLength('manufacturer public key', manufacturerPublicKey, Size.PUBLIC_KEY)],
    ]);
    const data = await this.#send('PERSO_COMMIT', this.#cmd(Ins.PERSO_COMMIT, payload));
    expectEmpty('PERSO_COMMIT', data);
  }

  // -------------------------------------------------------------------------------------------

  #cmd(ins: number, data?: Uint8Array, ne = 0): CommandApdu {
    return command(CLA_PROPRIETARY, ins, 0x00, 0x00, data, ne);
  }

  /** Sends; 9000 gives the data, anything else the typed error for that word. */
  async #send(name: CommandName, cmd: CommandApdu): Promise<Uint8Array> {
    const { data, sw } = await this.#channel.send(cmd);
    if (sw === SW_OK) return data;
    if (sw === IsoSw.PIN_BLOCKED) throw new PinBlockedError(name, sw);
    if ((sw & 0xfff0) === 0x63c0) {
      if ((sw & 0x0f) === 0) throw new PinBlockedError(name, sw);
      throw new WrongPinError(name, sw);
    }
    throw new CardRefusedError(name, sw, data);
  }

  /** Reads the answer as the TLVs `allowed` in that order, then `read` them; any fault is the card's. */
  #parse<T>(name: CommandName, data: Uint8Array, allowed: readonly number[], read: (r: TlvRecord) => T): T {
    try {
      return read(TlvRecord.parse(data, { allowed, what: `${name} response`, ordered: true }));
    } catch (e) {
      if (e instanceof MalformedResponseError) throw e; // UnsupportedVersionError included
      if (e instanceof TlvError || e instanceof InvalidPointError || e instanceof SignatureFormatError) {
        throw new MalformedResponseError(name, e.message.replace(`${name} response: `, ''), { cause: e });
      }
      throw e;
    }
  }
}

function checkVersion(name: CommandName, value: Uint8Array): number {
  const version = value[0] as number;
  if (version !== PROTOCOL_VERSION) throw new UnsupportedVersionError(name, version);
  return version;
}

/**
 * SELECT and READ start with `01 01 <version>` in every version: read the version before the rest,
 * so that a card of another version is named as such, not as a malformed answer of this one.
 */
function checkVersionFirst(name: CommandName, data: Uint8Array): void {
  if (data.length >= 3 && data[0] === Tag.VERSION && data[1] === 1) checkVersion(name, data.subarray(2, 3));
}

/** BACKUP_CARD_IDS: present exactly when `count` > 0, `count` distinct 8-byte ids, none the card's own. */
function readBackupCardIds(r: TlvRecord, count: number, cardId: Uint8Array | undefined): Uint8Array[] {
  const value = r.optional(Tag.BACKUP_CARD_IDS);
  if (value === undefined) {
    if (count > 0) throw new MalformedResponseError('READ', `BACKUP_CARD_IDS missing with BACKUP_COUNT ${count}`);
    return [];
  }
  if (count === 0) throw new MalformedResponseError('READ', 'BACKUP_CARD_IDS present with BACKUP_COUNT 0');
  if (value.length !== count * Size.CARD_ID) {
    throw new MalformedResponseError(
      'READ',
      `BACKUP_CARD_IDS is ${value.length} bytes, expected ${count * Size.CARD_ID} (${count} x ${Size.CARD_ID}) for BACKUP_COUNT ${count}`,
    );
  }
  const ids: Uint8Array[] = [];
  for (let offset = 0; offset < value.length; offset += Size.CARD_ID) {
    const id = value.slice(offset, offset + Size.CARD_ID);
    if (cardId !== undefined && equalBytes(id, cardId)) throw new MalformedResponseError('READ', "BACKUP_CARD_IDS names the card's own id");
    if (ids.some((known) => equalBytes(known, id))) throw new MalformedResponseError('READ', 'BACKUP_CARD_IDS names the same card twice');
    ids.push(id);
  }
  return ids;
}

function checkState(name: CommandName, value: Uint8Array): CardStateName {
  const state = cardStateName(value[0] as number);
  if (state === undefined) throw new MalformedResponseError(name, `unknown card state ${hex2(value[0] as number)}`);
  return state;
}

function checkOrigin(origin: number, state: CardStateName): WalletOriginName {
  if (origin === WalletOrigin.CREATED) return 'created';
  if (origin === WalletOrigin.IMPORTED) {
    // Only a backup card imports, and an imported wallet is BACKED_UP at once.
    if (state !== 'BACKED_UP') throw new MalformedResponseError('READ', `WALLET_ORIGIN 02 (imported) in state ${state}`);
    return 'imported';
  }
  throw new MalformedResponseError('READ', `unknown WALLET_ORIGIN ${hex2(origin)}`);
}

function signatureField(r: TlvRecord, tag: number, what: string): Uint8Array {
  const der = r.required(tag, { min: Size.SIGNATURE_MIN, max: Size.SIGNATURE_MAX });
  parseDerSignature(der, what);
  return der;
}

function backupCount(name: CommandName, r: TlvRecord, min: number): number {
  const count = r.required(Tag.BACKUP_COUNT, 1)[0] as number;
  if (count < min || count > Size.MAX_BACKUPS) {
    throw new MalformedResponseError(name, `BACKUP_COUNT is ${count}, expected ${min}..${Size.MAX_BACKUPS}`);
  }
  return count;
}

function expectEmpty(name: CommandName, data: Uint8Array): void {
  if (data.length !== 0) throw new MalformedResponseError(name, `expected no data, got ${data.length} bytes`);
}

function readUint32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
}

function hex2(b: number): string {
  return '0x' + b.toString(16).toUpperCase().padStart(2, '0');
}
