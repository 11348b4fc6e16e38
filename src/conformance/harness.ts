/**
 * The card under test as the checks see it: raw and chained exchanges through a recorder, a snapshot of
 * everything READ shows, and `reach(target)`, which brings the card to the state a check needs by the
 * protocol's own forward steps (personalize, create a wallet, start a backup, link to or import from a
 * software peer), resetting it first when the caller gave a way to (virtual cards) and the card cannot get
 * there from where it is. What the suite set on the card (the access code, the peer it is linked to) is
 * remembered here, because a card never tells it.
 * @module
 */
import { ApduChannel, command, type ApduTransport, type ResponseApdu } from '../apdu/index.js';
import { TwincardCard, type CardInfo } from '../protocol/card.js';
import { parseCertificate } from '../protocol/certificate.js';
import { verifyMessageSignature } from '../protocol/crypto.js';
import { certificateMessage } from '../protocol/messages.js';
import { personalize } from '../protocol/factory.js';
import type { KeyPair } from '../protocol/keys.js';
import type { WalletSecret } from '../protocol/wallet-blob.js';
import { CheckRecorder } from './recorder.js';
import { randomKeyPair, sealRawBlob, plaintextBytes, wellFormedPlaintext, SoftCard } from './soft-card.js';
import { NotApplicable, type Exchange } from './types.js';

/** The states a check can ask for; BACKED_UP is split by the card's role. */
export type Target =
  | 'FACTORY'
  | 'BLANK'
  | 'WALLET'
  | 'BACKUP_PRIMARY'
  | 'BACKUP_LINKED'
  | 'BACKED_UP_PRIMARY'
  | 'BACKED_UP_BACKUP';

/** The access code the suite gives every wallet it creates or imports (ASCII "20261125"). */
export const SUITE_PIN: Uint8Array = new TextEncoder().encode('20261125');

/** A software primary the card under test is linked to (state BACKUP_LINKED). */
export interface LinkedPrimary {
  readonly primary: SoftCard;
  readonly ephemeral: KeyPair;
  /** EB the card answered. */
  readonly eb: Uint8Array;
  /** The wallet the software primary sends. */
  readonly secret: WalletSecret;
}

/** What the suite knows about the card because it put it there. */
interface Knowledge {
  /** The suite reset this card and has sent it no PERSO_GENERATE since (READ cannot tell). */
  pristine?: boolean;
  pin?: Uint8Array;
  /** BACKUP_PRIMARY: EP and how many software backups the suite linked. */
  primary?: { ep: Uint8Array; links: number };
  linked?: LinkedPrimary;
  /** BACKED_UP_BACKUP: the blob imported. */
  importedBlob?: Uint8Array;
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
  readonly card: TwincardCard;
  readonly #channel: ApduChannel;
  readonly #transport: ApduTransport;
  readonly #reset: (() => Promise<void>) | undefined;
  readonly cardId: Uint8Array;
  known: Knowledge = {};

  constructor(options: CardUnderTestOptions) {
    this.recorder = new CheckRecorder(options.transport);
    this.#transport = this.recorder;
    this.#channel = new ApduChannel(this.recorder);
    this.card = new TwincardCard(this.recorder);
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
  }

  /** One APDU through the channel: command chaining for data over 255 bytes, 61xx followed. */
  async send(cla: number, ins: number, data?: Uint8Array, ne = 0, p1 = 0, p2 = 0): Promise<ResponseApdu> {
    return this.#channel.send(command(cla, ins, p1, p2, data, ne));
  }

  /** Bytes exactly as given: no chaining, no GET RESPONSE. */
  async raw(apdu: Uint8Array): Promise<ResponseApdu> {
    const r = await this.#transport.transmit(apdu);
    if (r.length < 2) return { data: new Uint8Array(0), sw: -1 };
    return { data: r.subarray(0, r.length - 2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
  }

  /** SELECT then READ (a new selection: the access code is no longer verified). */
  async snapshot(): Promise<CardInfo> {
    await this.card.select();
    return this.card.read();
  }

  /** VERIFY_PIN with the code the suite set. */
  async verify(): Promise<void> {
    if (this.known.pin === undefined) throw new NotApplicable('the access code is not known to the suite');
    await this.card.verifyPin(this.known.pin);
  }

  get log(): readonly Exchange[] {
    return this.recorder.log;
  }
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
export function certifiedBy(info: CardInfo, manufacturer: KeyPair): boolean {
  if (info.certificate === undefined) return false;
  try {
    const cert = parseCertificate(info.certificate);
    return verifyMessageSignature(cert.signature, certificateMessage(cert.cardId, cert.identityPublicKey), manufacturer.publicKey);
  } catch {
    return false;
  }
}

function targetOf(info: CardInfo): Target {
  if (info.state === 'BACKED_UP') return info.walletOrigin === 'imported' ? 'BACKED_UP_BACKUP' : 'BACKED_UP_PRIMARY';
  return info.state;
}

const ORDER: Record<Target, readonly Target[]> = {
  FACTORY: ['FACTORY'],
  BLANK: ['FACTORY', 'BLANK'],
  WALLET: ['FACTORY', 'BLANK', 'WALLET'],
  BACKUP_PRIMARY: ['FACTORY', 'BLANK', 'WALLET', 'BACKUP_PRIMARY'],
  BACKED_UP_PRIMARY: ['FACTORY', 'BLANK', 'WALLET', 'BACKUP_PRIMARY', 'BACKED_UP_PRIMARY'],
  BACKUP_LINKED: ['FACTORY', 'BLANK', 'BACKUP_LINKED'],
  BACKED_UP_BACKUP: ['FACTORY', 'BLANK', 'BACKUP_LINKED', 'BACKED_UP_BACKUP'],
};

/**
 * Brings the card to `target` and returns its snapshot; the recorder is cleared afterwards, so a check's
 * log holds its own APDUs only. `fresh` asks for a target reached in a clean way (no software backup linked
 * yet in BACKUP_PRIMARY).
 * @throws NotApplicable when the card cannot get there (used up, unknown access code, no --destructive,
 *   no TEST manufacturer); protocol errors when a forward step the card should accept fails.
 */
export async function reach(dut: CardUnderTest, target: Target, ctx: ReachContext, options: { fresh?: boolean } = {}): Promise<CardInfo> {
  let info: CardInfo;
  try {
    info = await dut.snapshot();
  } catch (error) {
    // A card an earlier check broke (e.g. it stored an invalid wallet key, so READ no longer parses) is only
    // any use again after a reset; the check that broke it has already failed.
    if (!ctx.destructive || !dut.canReset) {
      throw new NotApplicable(`the card no longer answers SELECT and READ as the protocol says (${(error as Error).message}), and cannot be reset`);
    }
    await dut.reset();
    info = await dut.snapshot();
  }
  // A FACTORY card that has seen a PERSO_GENERATE reads the same as one that has not: when a check needs the
  // latter, reset unless the suite knows (a card that cannot be reset is taken as the factory delivered it).
  if (target === 'FACTORY' && options.fresh === true && dut.canReset && dut.known.pristine !== true && ctx.destructive) {
    await dut.reset();
    info = await dut.snapshot();
  }
  if (!usable(dut, info, target, options.fresh === true)) {
    if (!ctx.destructive) {
      const why = targetOf(info) === target
        ? `needs the card in ${target} as the suite set it up (it is ${target}, but the suite does not know its access code or peer)`
        : `needs the card in ${target} (it is ${targetOf(info)})`;
      throw new NotApplicable(`${why}; --destructive lets the suite set cards up`);
    }
    if (!ORDER[target].includes(targetOf(info)) || !knownEnough(dut, info, target, options.fresh === true)) {
      if (!dut.canReset) throw new NotApplicable(`needs a card it can bring to ${target}: this one is ${targetOf(info)} and cannot be reset`);
      await dut.reset();
      info = await dut.snapshot();
    }
    info = await walk(dut, info, target, ctx);
  }
  dut.recorder.clear();
  return info;
}

/** Already there, with everything the suite needs to know about it. */
function usable(dut: CardUnderTest, info: CardInfo, target: Target, fresh: boolean): boolean {
  if (target === 'BACKUP_LINKED' && dut.known.linked === undefined) return false;
  return targetOf(info) === target && knownEnough(dut, info, target, fresh);
}

/** Whether the suite can go on from this state (it knows the access code, the link, ...). */
function knownEnough(dut: CardUnderTest, info: CardInfo, target: Target, fresh: boolean): boolean {
  const k = dut.known;
  switch (targetOf(info)) {
    case 'FACTORY':
    case 'BLANK':
      return true;
    case 'WALLET':
      return k.pin !== undefined && info.pinTriesLeft > 0;
    case 'BACKUP_PRIMARY':
      return k.pin !== undefined && k.primary !== undefined && info.pinTriesLeft > 0 && !((fresh || target !== 'BACKUP_PRIMARY') && info.backupCount > 0);
    case 'BACKUP_LINKED':
      // A linked card can always be linked again to a software primary the suite knows.
      return true;
    case 'BACKED_UP_PRIMARY':
    case 'BACKED_UP_BACKUP':
      return k.pin !== undefined && info.pinTriesLeft > 0;
  }
}

async function walk(dut: CardUnderTest, start: CardInfo, target: Target, ctx: ReachContext): Promise<CardInfo> {
  let info = start;
  for (let guard = 0; guard < 8 && targetOf(info) !== target; guard++) {
    const here = targetOf(info);
    if (here === 'BACKUP_LINKED' && dut.known.linked === undefined) {
      await step(dut, info, 'BACKUP_LINKED', ctx);
      info = await dut.snapshot();
      continue;
    }
    const path = ORDER[target];
    const next = path[path.indexOf(here) + 1];
    if (next === undefined) throw new NotApplicable(`cannot bring a ${here} card to ${target}`);
    await step(dut, info, next, ctx);
    info = await dut.snapshot();
  }
  // BACKUP_LINKED without knowing the primary: link again to a software primary (allowed in BACKUP_LINKED).
  if (target === 'BACKUP_LINKED' && dut.known.linked === undefined) {
    await step(dut, info, 'BACKUP_LINKED', ctx);
    info = await dut.snapshot();
  }
  if (targetOf(info) !== target) throw new Error(`set-up: the card is ${targetOf(info)}, not ${target}, after the protocol's steps`);
  return info;
}

function needManufacturer(ctx: ReachContext, why: string): KeyPair {
  if (ctx.manufacturer === undefined) {
    throw new NotApplicable(`${why} needs a software peer certified by the TEST manufacturer key, which this card does not trust`);
  }
  return ctx.manufacturer;
}

/** One forward step of the protocol, as a correct host and peer would do it. */
async function step(dut: CardUnderTest, info: CardInfo, next: Target, ctx: ReachContext): Promise<void> {
  const k = dut.known;
  switch (next) {
    case 'BLANK': {
      if (ctx.factoryKey === undefined) throw new NotApplicable('personalizing a FACTORY card needs the TEST manufacturer key');
      k.pristine = false;
      await personalize(dut.card, dut.cardId, ctx.factoryKey);
      return;
    }
    case 'WALLET':
      await dut.card.createWallet(SUITE_PIN);
      dut.known = { pin: SUITE_PIN };
      return;
    case 'BACKUP_PRIMARY': {
      await dut.verify();
      const offer = await dut.card.backupStart();
      k.primary = { ep: offer.ephemeralKey, links: 0 };
      return;
    }
    case 'BACKED_UP_PRIMARY': {
      const manufacturer = needManufacturer(ctx, 'finishing a backup');
      if (info.cardId === undefined || k.primary === undefined) throw new Error('set-up: no card id or EP');
      const backup = SoftCard.create(manufacturer);
      const eb = randomKeyPair();
      await dut.verify();
      await dut.card.linkBackup(backup.backupOffer(info.cardId, k.primary.ep, eb.publicKey));
      await dut.card.exportWallet(backup.cardId);
      await dut.card.finalizeBackup();
      k.primary = undefined;
      return;
    }
    case 'BACKUP_LINKED': {
      const manufacturer = needManufacturer(ctx, 'linking to a primary');
      const primary = SoftCard.create(manufacturer);
      const ephemeral = randomKeyPair();
      const wallet = randomKeyPair();
      const offer = await dut.card.linkPrimary(primary.primaryOffer(ephemeral.publicKey));
      k.linked = {
        primary,
        ephemeral,
        eb: offer.ephemeralKey,
        secret: { walletPrivateKey: wallet.privateKey, walletPublicKey: wallet.publicKey, pin: SUITE_PIN },
      };
      return;
    }
    case 'BACKED_UP_BACKUP': {
      if (k.linked === undefined || info.cardId === undefined) throw new Error('set-up: not linked');
      const blob = blobFor(k.linked, info.cardId);
      await dut.card.importWallet(blob);
      dut.known = { pin: k.linked.secret.pin, importedBlob: blob };
      return;
    }
    case 'FACTORY':
      throw new NotApplicable('no protocol step leads back to FACTORY');
  }
}

/** The transcript of the link the card under test has with a software primary. */
export function linkTranscript(linked: LinkedPrimary, backupId: Uint8Array) {
  return {
    primaryId: linked.primary.cardId,
    backupId,
    primaryEphemeralKey: linked.ephemeral.publicKey,
    backupEphemeralKey: linked.eb,
  };
}

/** A correct blob from the linked software primary, or one with the plaintext given. */
export function blobFor(linked: LinkedPrimary, backupId: Uint8Array, plaintext?: Uint8Array, header?: Uint8Array): Uint8Array {
  return sealRawBlob({
    ephemeralPrivate: linked.ephemeral.privateKey,
    transcript: linkTranscript(linked, backupId),
    plaintext: plaintext ?? plaintextBytes(wellFormedPlaintext(linked.secret)),
    ...(header && { header }),
  });
}
