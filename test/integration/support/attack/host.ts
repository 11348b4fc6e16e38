/**
 * A host that knows the access code and talks to several genuine cards at once: the attacker of
 * docs/protocol.md section 9.2. It builds every APDU itself, keeps every offer and sealed export it has seen
 * (to replay any of them anywhere), checks what the cards sign, and READs the cards to check I1 and I2.
 * Knowing the code it IS a host: it opens its own sessions (section 1.4, session.ts) and wraps the commands that
 * carry or use the code, opening one when it holds none for the card (after SELECT, a tear or a 6988).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProtocolTlvs, toHex, type CommandApdu } from '../../../../src/apdu/index.js';
import { equalBytes, signMessage, verifyMessageSignature } from '../../../../src/protocol/crypto.js';
import { keyPairFromPem, type KeyPair } from '../../../../src/protocol/keys.js';
import type { PcscService } from '../../../../src/readers/index.js';
import { control } from '../backup-cards.js';
import { cardOffset, repoRoot } from '../sim.js';
import { CardLink, Transcript, type Reply } from './card-link.js';
import { invariantViolations, type RetiredWallet } from './invariants.js';
import { AttackSession, hostEphemeral, openSessionCommand, parseOpenSession, sessionSignatureVerifies, type Spoil } from './session.js';
import {
  cancelCommand,
  certificateMessage,
  changeAccessCodeCommand,
  cmd,
  createWalletCommand,
  encodeCertificate,
  exportCommand,
  finalizeCommand,
  importCommand,
  INS,
  parseCreateWallet,
  parseExport,
  parseFinalize,
  parseImport,
  parsePersoGenerate,
  parsePrepare,
  parseRead,
  parseSelect,
  parseSign,
  prepareCommand,
  prepareMessage,
  readCommand,
  resetCommand,
  sealMessage,
  selectCommand,
  signCommand,
  SW,
  swHex,
  TAG,
  verifyPinCommand,
  type CardView,
  type Offer,
  type SealedExport,
  type State,
} from './wire.js';

/** The four virtual cards of the attack tests: the primary and three backup cards. */
export const P = 0;
export const B1 = 1;
export const B2 = 2;
export const B3 = 3;

export const manufacturer: KeyPair = keyPairFromPem(
  readFileSync(join(repoRoot, 'fixtures', 'test-manufacturer', 'private-key.pem'), 'utf8'),
);

/** A genuine card's identity, as the factory made it. */
export interface Identity {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly certificate: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  /** Signs ATTEST and OPEN_SESSION answers only (section 1.1). */
  readonly attestationPublicKey: Uint8Array;
}

/** Card ids differ per virtual card (and per developer offset): ASCII "ATTK" then the card number. */
function attackCardId(k: number): Uint8Array {
  const id = new Uint8Array(8);
  id.set([0x41, 0x54, 0x54, 0x4b]);
  new DataView(id.buffer).setUint32(4, k + cardOffset);
  return id;
}

/** A failure of the card to follow the document that is not a status word (a bad signature, a wrong header). */
class CardMisbehaved extends Error {
  override readonly name = 'CardMisbehaved';
}

export class AttackHost {
  /** Primary id (hex) -> ids (hex) of the cards the host received a blob for from it. */
  readonly received = new Map<string, Set<string>>();
  /** Wallets whose creator was RESET: wallet key (hex) -> the creator's final record (for I1 on the clones). */
  readonly retired = new Map<string, RetiredWallet>();
  readonly #identities: Identity[] = [];
  /** The session the host holds with each card (undefined: none, or the card closed it). */
  readonly #sessions: (AttackSession | undefined)[] = [];
  #previous: CardView[] | undefined;

  private constructor(
    readonly cards: readonly CardLink[],
    /** Every APDU and answer since the last reset, all cards interleaved. */
    readonly transcript: Transcript,
  ) {}

  static async open(service: PcscService, count: number): Promise<AttackHost> {
    const transcript = new Transcript();
    const cards: CardLink[] = [];
    for (let k = 0; k < count; k++) cards.push(await CardLink.open(service, k, transcript));
    return new AttackHost(cards, transcript);
  }

  async close(): Promise<void> {
    for (const card of this.cards) await card.close();
  }

  identity(k: number): Identity {
    const identity = this.#identities[k];
    if (identity === undefined) throw new Error(`card ${k} is not personalized`);
    return identity;
  }

  /** APDUs sent to all cards so far. */
  get apdus(): number {
    return this.cards.reduce((n, c) => n + c.apdus, 0);
  }

  /**
   * Every card wiped to FACTORY and personalized with the TEST manufacturer key (BLANK), a wallet created
   * with `pin` on each of `primaries`, every card selected. Forgets everything seen before.
   * @returns the wallet public keys of the primaries, by card index.
   */
  async reset(primaries: readonly number[], pin: Uint8Array): Promise<Map<number, Uint8Array>> {
    this.received.clear();
    this.retired.clear();
    this.#previous = undefined;
    const wallets = new Map<number, Uint8Array>();
    for (const card of this.cards) {
      await control(card.k, 'wipe');
      this.#dropSession(card.k);
      this.#identities[card.k] = await this.personalize(card.k, manufacturer);
      if (primaries.includes(card.k)) {
        const reply = await this.createWallet(card.k, pin);
        if (reply.sw !== SW.OK || reply.walletPublicKey === undefined) throw new Error(`card ${card.k}: CREATE_WALLET ${swHex(reply.sw)}`);
        wallets.set(card.k, reply.walletPublicKey);
      }
    }
    this.transcript.clear(); // a failure shows the sequence under test, not the factory's APDUs
    this.transcript.note(`--- cards 0..${this.cards.length - 1} wiped and personalized, a wallet created on ${primaries.join(', ')}`);
    return wallets;
  }

  /**
   * A FACTORY card k personalized under `root` (the card must have been installed with that root's public key):
   * PERSO_GENERATE, the root signs the format 02 certificate message, PERSO_COMMIT with the signature alone.
   */
  async personalize(k: number, root: KeyPair): Promise<Identity> {
    const card = this.#card(k);
    const id = attackCardId(k);
    await this.#ok(card, 'SELECT', selectCommand());
    const { identityKey, attestationKey } = parsePersoGenerate(await this.#ok(card, 'PERSO_GENERATE', cmd(INS.PERSO_GENERATE, id, 256)));
    const signature = signMessage(certificateMessage(id, identityKey, attestationKey), root.privateKey);
    await this.#ok(card, 'PERSO_COMMIT', cmd(INS.PERSO_COMMIT, encodeProtocolTlvs([[TAG.SIGNATURE, signature]])));
    const certificate = encodeCertificate({ cardId: id, identityPublicKey: identityKey, attestationPublicKey: attestationKey, signature });
    const view = parseRead(await this.#ok(card, 'READ', readCommand()));
    if (view.state !== 'BLANK' || !view.certificate || !equalBytes(view.certificate, certificate)) {
      throw new CardMisbehaved(`card ${card.k}: not BLANK with its certificate after personalization`);
    }
    const identity = { id, idHex: toHex(id), certificate, identityPublicKey: identityKey, attestationPublicKey: attestationKey };
    this.#identities[k] = identity;
    return identity;
  }

  async #ok(card: CardLink, name: string, command: CommandApdu): Promise<Uint8Array> {
    const { sw, data } = await card.send(name, command);
    if (sw !== SW.OK) throw new Error(`card ${card.k}: ${name} answered ${swHex(sw)}`);
    return data;
  }

  #card(k: number): CardLink {
    const card = this.cards[k];
    if (card === undefined) throw new Error(`no test card ${k}`);
    return card;
  }

  // ---------------------------------------------------------------------------------------------
  // Commands: each returns the status word; on 9000 the parsed answer, checked as far as the host can

  async select(k: number): Promise<Reply & { state?: State }> {
    this.#dropSession(k); // a new selection closes the card's session (section 1.4)
    const reply = await this.#card(k).send('SELECT', selectCommand());
    return reply.sw === SW.OK ? { ...reply, state: parseSelect(reply.data) } : reply;
  }

  /**
   * OPEN_SESSION with a fresh EH. On 9000 the answer's signature must verify under card k's CERTIFIED
   * ATTESTATION key over its id, EH and EC (what a host must check before sending anything through it); the
   * host then holds the new session. Any answer forgets the old one (the card replaced or closed it).
   */
  async openSession(k: number): Promise<Reply & { session?: AttackSession }> {
    this.#dropSession(k);
    const eh = hostEphemeral();
    const reply = await this.#card(k).send('OPEN_SESSION', openSessionCommand(eh.publicKey));
    if (reply.sw !== SW.OK) return reply;
    const { ec, signature } = parseOpenSession(reply.data);
    const me = this.identity(k);
    if (!sessionSignatureVerifies(signature, me.id, eh.publicKey, ec, me.attestationPublicKey)) {
      throw new CardMisbehaved(`card ${k}: the OPEN_SESSION signature does not verify under its certified attestation key`);
    }
    const session = AttackSession.derive(eh, me.id, ec);
    this.#sessions[k] = session;
    return { ...reply, session };
  }

  /** The session the host holds with card k, if any. */
  session(k: number): AttackSession | undefined {
    return this.#sessions[k];
  }

  /**
   * A command wrapped in the host's session with card k (one is opened first if the host holds none), or
   * spoiled as `spoil` says. A 6988 answer means the card closed the session: the host forgets it.
   */
  async wrapped(k: number, name: string, plain: CommandApdu, spoil?: Spoil): Promise<Reply> {
    const session = this.#sessions[k] ?? (await this.#openOrThrow(k));
    const reply = await this.#card(k).send(`${name} (wrapped, ctr ${spoil?.ctr ?? session.ctr + 1})`, session.wrap(plain, spoil));
    if (reply.sw === SW.SECURE_MESSAGING) this.#dropSession(k);
    return reply;
  }

  async #openOrThrow(k: number): Promise<AttackSession> {
    const reply = await this.openSession(k);
    if (reply.session === undefined) throw new Error(`card ${k}: OPEN_SESSION answered ${swHex(reply.sw)}`);
    return reply.session;
  }

  #dropSession(k: number): void {
    this.#sessions[k]?.forget();
    this.#sessions[k] = undefined;
  }

  async read(k: number): Promise<CardView> {
    return parseRead(await this.#ok(this.#card(k), 'READ', readCommand()));
  }

  verifyPin(k: number, pin: Uint8Array): Promise<Reply> {
    return this.wrapped(k, 'VERIFY_PIN', verifyPinCommand(pin));
  }

  async createWallet(k: number, pin: Uint8Array): Promise<Reply & { walletPublicKey?: Uint8Array }> {
    const reply = await this.wrapped(k, 'CREATE_WALLET', createWalletCommand(pin));
    return reply.sw === SW.OK ? { ...reply, walletPublicKey: parseCreateWallet(reply.data) } : reply;
  }

  async sign(k: number, digest: Uint8Array): Promise<Reply & { signature?: Uint8Array; counter?: number }> {
    const reply = await this.wrapped(k, 'SIGN', signCommand(digest));
    return reply.sw === SW.OK ? { ...reply, ...parseSign(reply.data) } : reply;
  }

  changeAccessCode(k: number, current: Uint8Array, next: Uint8Array): Promise<Reply> {
    return this.wrapped(k, 'CHANGE_ACCESS_CODE', changeAccessCodeCommand(current, next));
  }

  /**
   * RESET with the code. On 9000 the card erased its wallet: the host stops expecting the card to name the
   * backups it received a blob for (I2 holds "for as long as it holds the wallet"), and remembers the wallet's
   * final record so that I1 still counts the clones against it.
   */
  async resetCard(k: number, pin: Uint8Array, before?: CardView): Promise<Reply> {
    const view = before ?? (await this.views())[k]!;
    const reply = await this.wrapped(k, 'RESET', resetCommand(pin));
    if (reply.sw === SW.OK) this.#forgetWallet(view);
    return reply;
  }

  #forgetWallet(view: CardView): void {
    if (view.cardId === undefined) return;
    if (view.origin === 'created' && view.walletPublicKey !== undefined) {
      this.retired.set(toHex(view.walletPublicKey), { primaryId: toHex(view.cardId), backupCardIds: view.backupCardIds });
    }
    this.received.delete(toHex(view.cardId));
  }

  /** BACKUP_PREPARE; on 9000 the offer, its prepare signature verified under the card's certified key. */
  async prepare(k: number): Promise<Reply & { offer?: Offer }> {
    const reply = await this.#card(k).send('BACKUP_PREPARE', prepareCommand());
    if (reply.sw !== SW.OK) return reply;
    const { eb, signature } = parsePrepare(reply.data);
    const me = this.identity(k);
    if (!verifyMessageSignature(signature, prepareMessage(me.id, eb), me.identityPublicKey)) {
      throw new CardMisbehaved(`card ${k}: the prepare signature does not verify over its id and EB`);
    }
    return { ...reply, offer: { backupId: me.id, certificate: me.certificate, eb, signature } };
  }

  cancel(k: number): Promise<Reply> {
    return this.#card(k).send('BACKUP_CANCEL', cancelCommand());
  }

  /**
   * BACKUP_EXPORT on card p with any offer. On 9000 the host has a blob: the seal signature must verify over
   * P.id, the offer's card id, the offer's EB and EP, and the blob header must name both cards.
   */
  async export(p: number, offer: Offer): Promise<Reply & { sealed?: SealedExport }> {
    const reply = await this.wrapped(p, `BACKUP_EXPORT for ${toHex(offer.backupId)}`, exportCommand(offer));
    if (reply.sw !== SW.OK) return reply;
    const { ep, seal, blob } = parseExport(reply.data);
    const me = this.identity(p);
    this.received.set(me.idHex, (this.received.get(me.idHex) ?? new Set()).add(toHex(offer.backupId)));
    if (!verifyMessageSignature(seal, sealMessage(me.id, offer.backupId, offer.eb, ep), me.identityPublicKey)) {
      throw new CardMisbehaved(`card ${p}: the seal signature does not verify over P.id, B.id, the offered EB and EP`);
    }
    const header = blob.subarray(0, 17);
    if (header[0] !== 0x02 || !equalBytes(header.subarray(1, 9), me.id) || !equalBytes(header.subarray(9, 17), offer.backupId)) {
      throw new CardMisbehaved(`card ${p}: blob header ${toHex(header)} does not name version 02, P and B`);
    }
    return { ...reply, sealed: { primaryId: me.id, primaryCertificate: me.certificate, offer, ep, seal, blob } };
  }

  /** BACKUP_PREPARE where the test's own set-up needs it to succeed: the offer, or an error naming the word. */
  async offer(k: number): Promise<Offer> {
    const reply = await this.prepare(k);
    if (reply.offer === undefined) throw new Error(`card ${k}: BACKUP_PREPARE answered ${swHex(reply.sw)}, the set-up needs 9000`);
    return reply.offer;
  }

  /** BACKUP_EXPORT where the test's own set-up needs it to succeed: the sealed blob, or an error naming the word. */
  async exported(p: number, offer: Offer): Promise<SealedExport> {
    const reply = await this.export(p, offer);
    if (reply.sealed === undefined) throw new Error(`card ${p}: BACKUP_EXPORT answered ${swHex(reply.sw)}, the set-up needs 9000`);
    return reply.sealed;
  }

  /** Like export, but the answer is lost (the card is pulled after running it, then put back). */
  exportTorn(p: number, offer: Offer): Promise<void> {
    return this.sendTornWrapped(p, `BACKUP_EXPORT for ${toHex(offer.backupId)}`, exportCommand(offer));
  }

  async finalize(k: number): Promise<Reply & { count?: number }> {
    const reply = await this.wrapped(k, 'BACKUP_FINALIZE', finalizeCommand());
    return reply.sw === SW.OK ? { ...reply, count: parseFinalize(reply.data) } : reply;
  }

  async import(k: number, sealed: SealedExport): Promise<Reply & { walletPublicKey?: Uint8Array; result?: number }> {
    const name = `BACKUP_IMPORT of ${toHex(sealed.primaryId)}'s blob for ${toHex(sealed.offer.backupId)}`;
    const reply = await this.#card(k).send(name, importCommand(sealed));
    return reply.sw === SW.OK ? { ...reply, ...parseImport(reply.data) } : reply;
  }

  /** Any command, raw (the version 1 INS values, for one). */
  raw(k: number, name: string, command: CommandApdu): Promise<Reply> {
    return this.#card(k).send(name, command);
  }

  /**
   * Any command, torn: the card runs it and is pulled before answering, then put back and SELECTed again
   * (as any host does with a card it finds in the reader), so the access code must be verified again.
   */
  async sendTorn(k: number, name: string, command: CommandApdu): Promise<void> {
    this.#dropSession(k); // the card is reset: its session is gone whatever happens
    await this.#card(k).sendTorn(name, command);
    const reply = await this.select(k);
    if (reply.sw !== SW.OK) throw new Error(`card ${k}: SELECT after reinsertion answered ${swHex(reply.sw)}`);
  }

  /** Like sendTorn, for a command that goes wrapped: wrapped in the host's session (opened if none) first. */
  async sendTornWrapped(k: number, name: string, plain: CommandApdu): Promise<void> {
    const session = this.#sessions[k] ?? (await this.#openOrThrow(k));
    await this.sendTorn(k, `${name} (wrapped)`, session.wrap(plain));
  }

  /** Runs `work` and returns, with its result, every command APDU any card was sent meanwhile (the field's view). */
  async recordWire<T>(work: () => Promise<T>): Promise<{ result: T; apdus: Uint8Array[] }> {
    for (const card of this.cards) card.startRecording();
    try {
      const result = await work();
      return { result, apdus: this.cards.flatMap((c) => c.stopRecording()) };
    } finally {
      for (const card of this.cards) card.stopRecording();
    }
  }

  // ---------------------------------------------------------------------------------------------

  /** READ of every card, kept out of the transcript but for one summary line. */
  async views(): Promise<CardView[]> {
    const views: CardView[] = [];
    for (const card of this.cards) {
      const { sw, data } = await card.sendQuietly(readCommand());
      if (sw !== SW.OK) throw new Error(`card ${card.k}: READ answered ${swHex(sw)}`);
      views.push(parseRead(data));
    }
    const shown = views.map(
      (v, k) => `${k}:${v.state}${v.backupCount > 0 ? `[${v.backupCardIds.map((id) => id.slice(-4)).join(',')}]` : ''}`,
    );
    this.transcript.note(`(READ of every card: ${shown.join(' ')})`);
    return views;
  }

  /** READs every card and returns the I1/I2 violations (empty when they hold), remembering the views for the next check. */
  async invariantViolations(): Promise<{ views: CardView[]; problems: string[] }> {
    const views = await this.views();
    const problems = invariantViolations({
      views,
      received: this.received,
      retired: this.retired,
      ...(this.#previous && { previous: this.#previous }),
    });
    this.#previous = views;
    return { views, problems };
  }

  /** What every attack test checks after itself: I1 and I2 on the cards' own READs; a failure carries the whole transcript. */
  async assertInvariants(): Promise<void> {
    const { problems } = await this.invariantViolations();
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\n--- transcript\n${this.transcript.text()}`);
  }
}
