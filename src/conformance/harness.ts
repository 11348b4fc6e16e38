/**
 * The card under test as the checks see it: raw and chained exchanges through a recorder, a snapshot of
 * everything READ shows, and `reach(target)`, which brings the card to the state a check needs by the
 * protocol's own forward steps (personalize, create a wallet, export to or import from a software peer),
 * resetting it first when the caller gave a way to (virtual cards) and the card cannot get there from where
 * it is. What the suite set on the card (the access code, EB, the peers) is remembered here, because a card
 * never tells it.
 * @module
 */
import { ApduChannel, command, encodeProtocolTlvs, type ApduTransport, type ResponseApdu } from '../apdu/index.js';
import { equalBytes, signMessage, verifyMessageSignature } from '../protocol/crypto.js';
import type { KeyPair } from '../protocol/keys.js';
import { CheckRecorder } from './recorder.js';
import {
  bogusSession,
  deriveSession,
  hostEphemeral,
  openSessionData,
  parseSessionAnswer,
  sessionSignatureVerifies,
  wrapData,
  type HostSession,
  type WrapFaults,
} from './session.js';
import {
  plaintextBytes,
  randomKeyPair,
  randomWallet,
  SoftCard,
  wellFormedPlaintext,
  type PrepareOffer,
  type SealedExport,
  type Wallet,
} from './soft-card.js';
import { NotApplicable, type Exchange } from './types.js';
import {
  AID,
  CardAnswerError,
  certificateMessage,
  CLA_WRAPPED,
  Ins,
  parseCertificate,
  parseRead,
  parseSelect,
  Sw,
  Tag,
  WRAPPED_ONLY,
  type ReadInfo,
} from './wire.js';

/** The states a check can ask for; BACKED_UP is split by the card's role. */
export type Target = 'FACTORY' | 'BLANK' | 'WALLET' | 'BACKUP_EXPORTING' | 'BACKUP_PENDING' | 'BACKED_UP_PRIMARY' | 'BACKED_UP_BACKUP';

/** The access code the suite gives every wallet it creates or imports (ASCII "20261125"). */
export const SUITE_PIN: Uint8Array = new TextEncoder().encode('20261125');

export const CLA = 0x80;

/** A software backup card the card under test exported to, with the eB that opens its blobs. */
export interface SoftBackup {
  readonly card: SoftCard;
  readonly eb: KeyPair;
}

/** What the suite knows about the card because it put it there. */
interface Knowledge {
  /** The suite reset this card and has sent it no PERSO_GENERATE since (READ cannot tell). */
  pristine?: boolean;
  pin?: Uint8Array;
  /** Primary: the software backup cards exported to, in order. */
  exportedTo?: SoftBackup[];
  /** BACKUP_PENDING: the EB the card answered. */
  eb?: Uint8Array;
  /** BACKED_UP_BACKUP: the software primary, its wallet and the export imported. */
  imported?: { primary: SoftCard; wallet: Wallet; sealed: SealedExport };
}

export interface CardUnderTestOptions {
  readonly transport: ApduTransport;
  /** Makes the card factory-fresh (virtual cards: the sim's `wipe`). Without it, a card used up stays so. */
  readonly reset?: () => Promise<void>;
  /** Id the suite personalizes a FACTORY card with (default: ASCII "CONF" 00 00 00 01). */
  readonly cardId?: Uint8Array;
}

export class CardUnderTest {
  readonly recorder: CheckRecorder;
  readonly #channel: ApduChannel;
  readonly #reset: (() => Promise<void>) | undefined;
  readonly cardId: Uint8Array;
  known: Knowledge = {};
  /**
   * The session the card holds for this host, as far as the host knows: gone after a SELECT, a reset, a new
   * OPEN_SESSION or a 6988 answer (each closes it on the card).
   */
  session: HostSession | undefined;

  constructor(options: CardUnderTestOptions) {
    this.recorder = new CheckRecorder(options.transport);
    this.#channel = new ApduChannel(this.recorder);
    this.#reset = options.reset;
    this.cardId = options.cardId ?? Uint8Array.of(0x43, 0x4f, 0x4e, 0x46, 0, 0, 0, 1);
  }

  get canReset(): boolean {
    return this.#reset !== undefined;
  }

  async reset(): Promise<void> {
    if (this.#reset === undefined) throw new NotApplicable('the card cannot be reset');
    await this.#reset();
    this.known = { pristine: true };
    this.session = undefined;
  }

  /**
   * One APDU through the channel: command chaining for data over 255 bytes, 61xx followed. A command the
   * protocol accepts wrapped only (CLA 80, P1 = P2 = 00) goes wrapped in the current session, opened first when
   * there is none (section 1.4): that is how a correct host sends it. {@link plain} sends it as it is.
   */
  async send(cla: number, ins: number, data?: Uint8Array, ne = 0, p1 = 0, p2 = 0): Promise<ResponseApdu> {
    if (cla === CLA && WRAPPED_ONLY.has(ins) && p1 === 0 && p2 === 0) return this.wrapped(ins, data ?? new Uint8Array(0), ne);
    return this.plain(cla, ins, data, ne, p1, p2);
  }

  /** One APDU exactly as given in CLA, INS, P1, P2 and data (never wrapped); chaining and 61xx as {@link send}. */
  async plain(cla: number, ins: number, data?: Uint8Array, ne = 0, p1 = 0, p2 = 0): Promise<ResponseApdu> {
    return this.#channel.send(command(cla, ins, p1, p2, data, ne));
  }

  /**
   * OPEN_SESSION with a fresh EH; the answer's signature must verify under the attestation key of the card's
   * certificate (READ), as a correct host checks before it sends anything through the session.
   * @throws CardAnswerError when the card refuses; Error when the answer is malformed or does not verify.
   */
  async openSession(): Promise<HostSession> {
    this.session = undefined;
    const info = await this.read();
    if (info.certificate === undefined || info.cardId === undefined) throw new NotApplicable('a session needs a personalized card');
    const eh = hostEphemeral();
    const r = await this.cmd(Ins.OPEN_SESSION, openSessionData(eh.publicKey));
    if (r.sw !== Sw.OK) throw new CardAnswerError('OPEN_SESSION', r.sw);
    const answer = parseSessionAnswer(r.data);
    if (answer === undefined) throw new Error('OPEN_SESSION: the answer is not 1A 41 <EC> 0B LL <signature>');
    if (!sessionSignatureVerifies(answer.signature, info.cardId, eh.publicKey, answer.ec, attestationKey(info))) {
      throw new Error('OPEN_SESSION: the signature does not verify under the certified attestation key');
    }
    this.session = deriveSession(info.cardId, eh, answer.ec);
    return this.session;
  }

  /**
   * A wrapped command (CLA 84) in `session` (default: the current one, opened when there is none; where the
   * card cannot open one, e.g. FACTORY, keys it does not hold, so it meets "no session": 6988). A 6988 answer
   * closes the session on the card, so the host forgets it too.
   */
  async wrapped(ins: number, payload: Uint8Array, ne = 0, faults: WrapFaults = {}, session?: HostSession): Promise<ResponseApdu> {
    let s = session ?? this.session;
    if (s === undefined) {
      try {
        s = await this.openSession();
      } catch (error) {
        // An unpersonalized card (no certificate) or one refusing OPEN_SESSION holds no session.
        if (!(error instanceof CardAnswerError || error instanceof NotApplicable)) throw error;
        s = bogusSession(this.cardId);
      }
    }
    const r = await this.#channel.send(command(CLA_WRAPPED, ins, 0, 0, wrapData(s, ins, payload, faults), ne));
    if (r.sw === Sw.SECURE_MESSAGING && this.session === s) this.session = undefined;
    return r;
  }

  /** A twincard command (CLA 80, Le 256). */
  async cmd(ins: number, data?: Uint8Array): Promise<ResponseApdu> {
    return this.send(CLA, ins, data, 256);
  }

  /** Bytes exactly as given: no chaining, no GET RESPONSE. */
  async raw(apdu: Uint8Array): Promise<ResponseApdu> {
    const r = await this.recorder.transmit(apdu);
    if (r.length < 2) return { data: new Uint8Array(0), sw: -1 };
    return { data: r.subarray(0, r.length - 2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
  }

  /** SELECT (a new selection: the session is closed, the access code no longer verified). */
  async select(): Promise<ResponseApdu> {
    this.session = undefined;
    const r = await this.send(0x00, Ins.SELECT, AID, 256, 0x04, 0x00);
    if (r.sw !== Sw.OK) throw new CardAnswerError('SELECT', r.sw);
    parseSelect(r.data);
    return r;
  }

  /** READ, parsed strictly. */
  async read(): Promise<ReadInfo> {
    const r = await this.cmd(Ins.READ);
    if (r.sw !== Sw.OK) throw new CardAnswerError('READ', r.sw);
    return parseRead(r.data);
  }

  /** SELECT then READ. */
  async snapshot(): Promise<ReadInfo> {
    await this.select();
    return this.read();
  }

  /** VERIFY_PIN with the code the suite set. */
  async verify(): Promise<void> {
    if (this.known.pin === undefined) throw new NotApplicable('the access code is not known to the suite');
    await this.expectOk('VERIFY_PIN', Ins.VERIFY_PIN, this.known.pin);
  }

  /** A set-up step the card must accept. */
  async expectOk(what: string, ins: number, data?: Uint8Array): Promise<ResponseApdu> {
    const r = await this.cmd(ins, data);
    if (r.sw !== Sw.OK) throw new CardAnswerError(what, r.sw);
    return r;
  }

  get log(): readonly Exchange[] {
    return this.recorder.log;
  }
}

/** BACKUP_EXPORT's data field: `04 cert ‖ 13 41 EB ‖ 14 LL signature`. */
export function exportData(o: PrepareOffer): Uint8Array {
  return encodeProtocolTlvs([
    [Tag.CERTIFICATE, o.certificate],
    [Tag.BACKUP_EPHEMERAL_KEY, o.eb],
    [Tag.PREPARE_SIGNATURE, o.signature],
  ]);
}

/** BACKUP_IMPORT's data field: `04 cert ‖ 11 41 EP ‖ 12 LL seal ‖ 15 81 C1 blob`. */
export function importData(s: SealedExport): Uint8Array {
  return encodeProtocolTlvs([
    [Tag.CERTIFICATE, s.certificate],
    [Tag.PRIMARY_EPHEMERAL_KEY, s.ep],
    [Tag.SEAL_SIGNATURE, s.signature],
    [Tag.WALLET_BLOB, s.blob],
  ]);
}

/** BACKUP_EXPORT's answer, split: `11 41 EP ‖ 12 LL seal ‖ 15 81 C1 blob`, or undefined when it is not that. */
export function parseExportAnswer(data: Uint8Array): { ep: Uint8Array; signature: Uint8Array; blob: Uint8Array } | undefined {
  if (data.length < 69 || data[0] !== 0x11 || data[1] !== 0x41 || data[67] !== 0x12) return undefined;
  const n = data[68]!;
  const at = 69 + n;
  if (n < 8 || n > 72 || data.length !== at + 196 || data[at] !== 0x15 || data[at + 1] !== 0x81 || data[at + 2] !== 0xc1) return undefined;
  return { ep: data.slice(2, 67), signature: data.slice(69, at), blob: data.slice(at + 3) };
}

/** BACKUP_PREPARE's answer, split: `13 41 EB ‖ 14 LL signature`. */
export function parsePrepareAnswer(data: Uint8Array): { eb: Uint8Array; signature: Uint8Array } | undefined {
  if (data.length < 69 || data[0] !== 0x13 || data[1] !== 0x41 || data[67] !== 0x14 || data[68] !== data.length - 69) return undefined;
  return { eb: data.slice(2, 67), signature: data.slice(69) };
}

/** A signature that verifies, false for one that does not or is not DER. */
export function verifies(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  try {
    return verifyMessageSignature(signature, message, key);
  } catch {
    return false;
  }
}

/** The identity key in the card's certificate. */
export function identityKey(info: ReadInfo): Uint8Array {
  if (info.certificate === undefined) throw new NotApplicable('needs a personalized card');
  return parseCertificate(info.certificate).identityPublicKey;
}

/** The attestation key in the card's certificate (ATTEST and OPEN_SESSION). */
export function attestationKey(info: ReadInfo): Uint8Array {
  if (info.certificate === undefined) throw new NotApplicable('needs a personalized card');
  return parseCertificate(info.certificate).attestationPublicKey;
}

/** What `reach` needs besides the card. */
export interface ReachContext {
  readonly destructive: boolean;
  /** The TEST manufacturer key, when the card trusts it. */
  readonly manufacturer: KeyPair | undefined;
  /** The TEST manufacturer key the suite may personalize a FACTORY card with. */
  readonly factoryKey: KeyPair | undefined;
}

/** Whether the card's certificate is signed by `manufacturer` (then it trusts that key). */
export function certifiedBy(info: ReadInfo, manufacturer: KeyPair): boolean {
  if (info.certificate === undefined) return false;
  try {
    const cert = parseCertificate(info.certificate);
    return verifyMessageSignature(
      cert.signature,
      certificateMessage(cert.cardId, cert.identityPublicKey, cert.attestationPublicKey),
      manufacturer.publicKey,
    );
  } catch {
    return false;
  }
}

function targetOf(info: ReadInfo): Target {
  if (info.state === 'BACKED_UP') return info.walletOrigin === 'imported' ? 'BACKED_UP_BACKUP' : 'BACKED_UP_PRIMARY';
  return info.state;
}

const PATH: Record<Target, readonly Target[]> = {
  FACTORY: ['FACTORY'],
  BLANK: ['FACTORY', 'BLANK'],
  WALLET: ['FACTORY', 'BLANK', 'WALLET'],
  BACKUP_EXPORTING: ['FACTORY', 'BLANK', 'WALLET', 'BACKUP_EXPORTING'],
  BACKED_UP_PRIMARY: ['FACTORY', 'BLANK', 'WALLET', 'BACKUP_EXPORTING', 'BACKED_UP_PRIMARY'],
  BACKUP_PENDING: ['FACTORY', 'BLANK', 'BACKUP_PENDING'],
  BACKED_UP_BACKUP: ['FACTORY', 'BLANK', 'BACKUP_PENDING', 'BACKED_UP_BACKUP'],
};

/**
 * Brings the card to `target` and returns its snapshot; the recorder is cleared afterwards, so a check's
 * log holds its own APDUs only. `fresh` asks for a target reached in a clean way (a FACTORY card that never
 * saw PERSO_GENERATE; a primary with exactly one backup card recorded).
 * @throws NotApplicable when the card cannot get there (used up, unknown access code, no --destructive,
 *   no TEST manufacturer); CardAnswerError when a forward step the card should accept fails.
 */
export async function reach(dut: CardUnderTest, target: Target, ctx: ReachContext, options: { fresh?: boolean } = {}): Promise<ReadInfo> {
  const fresh = options.fresh === true;
  let info: ReadInfo;
  try {
    info = await dut.snapshot();
  } catch (error) {
    // A card an earlier check broke (READ no longer parses) is only any use again after a reset; the check
    // that broke it has already failed.
    if (!ctx.destructive || !dut.canReset) {
      throw new NotApplicable(
        `the card no longer answers SELECT and READ as the protocol says (${(error as Error).message}), and cannot be reset`,
      );
    }
    await dut.reset();
    info = await dut.snapshot();
  }
  if (target === 'FACTORY' && fresh && dut.canReset && dut.known.pristine !== true && ctx.destructive) {
    await dut.reset();
    info = await dut.snapshot();
  }
  if (!usable(dut, info, target, fresh)) {
    if (!ctx.destructive) {
      const why =
        targetOf(info) === target
          ? `needs the card in ${target} as the suite set it up (it is ${target}, but the suite does not know its access code or peers)`
          : `needs the card in ${target} (it is ${targetOf(info)})`;
      throw new NotApplicable(`${why}; --destructive lets the suite set cards up`);
    }
    if (!PATH[target].includes(targetOf(info)) || !knownEnough(dut, info, target, fresh)) {
      if (!dut.canReset)
        throw new NotApplicable(`needs a card it can bring to ${target}: this one is ${targetOf(info)} and cannot be reset`);
      await dut.reset();
      info = await dut.snapshot();
    }
    info = await walk(dut, info, target, ctx);
  }
  dut.recorder.clear();
  return info;
}

function usable(dut: CardUnderTest, info: ReadInfo, target: Target, fresh: boolean): boolean {
  if (target === 'BACKUP_PENDING' && dut.known.eb === undefined) return false;
  return targetOf(info) === target && knownEnough(dut, info, target, fresh);
}

/** Whether the suite can go on from this state (it knows the access code, the peers, ...). */
function knownEnough(dut: CardUnderTest, info: ReadInfo, target: Target, fresh: boolean): boolean {
  const k = dut.known;
  switch (targetOf(info)) {
    case 'FACTORY':
    case 'BLANK':
    case 'BACKUP_PENDING': // BACKUP_PREPARE again tells EB
      return true;
    case 'WALLET':
      return k.pin !== undefined && info.pinTriesLeft > 0;
    case 'BACKUP_EXPORTING':
      return (
        k.pin !== undefined &&
        info.pinTriesLeft > 0 &&
        k.exportedTo !== undefined &&
        !(fresh && target === 'BACKUP_EXPORTING' && info.backupCount !== 1)
      );
    case 'BACKED_UP_PRIMARY':
      return k.pin !== undefined && info.pinTriesLeft > 0 && k.exportedTo !== undefined;
    case 'BACKED_UP_BACKUP':
      return k.pin !== undefined && info.pinTriesLeft > 0 && k.imported !== undefined;
  }
}

async function walk(dut: CardUnderTest, start: ReadInfo, target: Target, ctx: ReachContext): Promise<ReadInfo> {
  let info = start;
  for (let guard = 0; guard < 8; guard++) {
    const here = targetOf(info);
    if (here === target && (here !== 'BACKUP_PENDING' || dut.known.eb !== undefined)) return info;
    const path = PATH[target];
    // BACKUP_PENDING without a known EB: BACKUP_PREPARE again (it answers the same EB).
    const next = here === 'BACKUP_PENDING' && dut.known.eb === undefined ? 'BACKUP_PENDING' : path[path.indexOf(here) + 1];
    if (next === undefined) throw new NotApplicable(`cannot bring a ${here} card to ${target}`);
    await step(dut, info, next, ctx);
    const after = await dut.snapshot();
    // A step the card answered 9000 to but that left it where it was (e.g. an export it did not record) is a
    // fault of the card: say which, rather than repeat it.
    if (targetOf(after) === here && next !== here)
      throw new Error(`set-up: ${next === 'BACKUP_EXPORTING' ? 'BACKUP_EXPORT' : next} was accepted but the card is still ${here}`);
    info = after;
  }
  throw new Error(`set-up: the card is ${targetOf(info)}, not ${target}, after the protocol's steps`);
}

function needManufacturer(ctx: ReachContext, why: string): KeyPair {
  if (ctx.manufacturer === undefined) {
    throw new NotApplicable(`${why} needs a software peer certified by the TEST manufacturer key, which this card does not trust`);
  }
  return ctx.manufacturer;
}

/** PERSO_GENERATE's answer, split: `0A 41 <identity key> ‖ 0E 41 <attestation key>`, or undefined. */
export function parseGenerateAnswer(data: Uint8Array): { identity: Uint8Array; attestation: Uint8Array } | undefined {
  if (
    data.length !== 134 ||
    data[0] !== Tag.IDENTITY_PUBLIC_KEY ||
    data[1] !== 0x41 ||
    data[67] !== Tag.ATTESTATION_PUBLIC_KEY ||
    data[68] !== 0x41
  )
    return undefined;
  return { identity: data.slice(2, 67), attestation: data.slice(69) };
}

/** PERSO_GENERATE on a FACTORY card: the two public keys it answers. */
export async function generate(dut: CardUnderTest): Promise<{ identity: Uint8Array; attestation: Uint8Array }> {
  dut.known.pristine = false;
  const g = await dut.expectOk('PERSO_GENERATE', Ins.PERSO_GENERATE, dut.cardId);
  const keys = parseGenerateAnswer(g.data);
  if (keys === undefined) throw new Error('set-up: PERSO_GENERATE answer is not 0A 41 <key> 0E 41 <key>');
  return keys;
}

/** PERSO_COMMIT's data: `0B LL <manufacturer signature>` (the root is the card's installed one). */
export function commitData(signature: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([[Tag.SIGNATURE, signature]]);
}

/**
 * Personalizes a FACTORY card (PERSO_GENERATE, the factory's signature over id ‖ both keys, PERSO_COMMIT);
 * the card accepts it only when `manufacturer` is the root it was installed with.
 */
export async function personalize(
  dut: CardUnderTest,
  manufacturer: KeyPair,
): Promise<{ identity: Uint8Array; attestation: Uint8Array; signature: Uint8Array }> {
  const keys = await generate(dut);
  const signature = signMessage(certificateMessage(dut.cardId, keys.identity, keys.attestation), manufacturer.privateKey);
  await dut.expectOk('PERSO_COMMIT', Ins.PERSO_COMMIT, commitData(signature));
  return { ...keys, signature };
}

/** One forward step of the protocol, as a correct host and peer would do it. */
async function step(dut: CardUnderTest, info: ReadInfo, next: Target, ctx: ReachContext): Promise<void> {
  const k = dut.known;
  switch (next) {
    case 'BLANK':
      if (ctx.factoryKey === undefined) throw new NotApplicable('personalizing a FACTORY card needs the TEST manufacturer key');
      await personalize(dut, ctx.factoryKey);
      return;
    case 'WALLET':
      await dut.expectOk('CREATE_WALLET', Ins.CREATE_WALLET, SUITE_PIN);
      dut.known = { pin: SUITE_PIN };
      return;
    case 'BACKUP_EXPORTING': {
      const backup = { card: SoftCard.create(needManufacturer(ctx, 'exporting a wallet')), eb: randomKeyPair() };
      await dut.verify();
      await dut.expectOk('BACKUP_EXPORT', Ins.BACKUP_EXPORT, exportData(backup.card.prepare(backup.eb.publicKey)));
      k.exportedTo = [backup];
      return;
    }
    case 'BACKED_UP_PRIMARY':
      await dut.verify();
      await dut.expectOk('BACKUP_FINALIZE', Ins.BACKUP_FINALIZE);
      return;
    case 'BACKUP_PENDING': {
      const r = await dut.expectOk('BACKUP_PREPARE', Ins.BACKUP_PREPARE);
      const offer = parsePrepareAnswer(r.data);
      if (offer === undefined) throw new Error('set-up: BACKUP_PREPARE answer is not 13 41 <EB> 14 LL <signature>');
      dut.known = { eb: offer.eb };
      return;
    }
    case 'BACKED_UP_BACKUP': {
      const primary = SoftCard.create(needManufacturer(ctx, 'importing a wallet'));
      if (k.eb === undefined || info.cardId === undefined) throw new Error('set-up: EB unknown');
      const wallet = randomWallet(SUITE_PIN);
      const sealed = primary.seal(info.cardId, k.eb, plaintextBytes(wellFormedPlaintext(wallet)));
      await dut.expectOk('BACKUP_IMPORT', Ins.BACKUP_IMPORT, importData(sealed));
      dut.known = { pin: SUITE_PIN, imported: { primary, wallet, sealed } };
      return;
    }
    case 'FACTORY':
      throw new NotApplicable('no protocol step leads back to FACTORY');
  }
}

/** Equal ids lists. */
export function sameIds(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => equalBytes(x, b[i]!));
}
