/**
 * A host that knows the access code and talks to several genuine cards at once: the attacker of
 * docs/protocol.md section 9.2. It builds every APDU itself, keeps every offer and sealed export it has seen
 * (to replay any of them anywhere), checks what the cards sign, and READs the cards to check I1 and I2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeProtocolTlvs, toHex, type CommandApdu } from '../../../../src/apdu/index.js';
import { encodeCertificate } from '../../../../src/protocol/certificate.js';
import { equalBytes, signMessage, verifyMessageSignature } from '../../../../src/protocol/crypto.js';
import { keyPairFromPem, type KeyPair } from '../../../../src/protocol/keys.js';
import { certificateMessage, prepareMessage, sealMessage } from '../../../../src/protocol/messages.js';
import type { PcscService } from '../../../../src/readers/index.js';
import { control } from '../backup-cards.js';
import { cardOffset, repoRoot } from '../sim.js';
import { CardLink, Transcript, type Reply } from './card-link.js';
import { invariantViolations } from './invariants.js';
import {
  cancelCommand,
  cmd,
  createWalletCommand,
  exportCommand,
  finalizeCommand,
  importCommand,
  INS,
  parseCreateWallet,
  parseExport,
  parseFinalize,
  parseImport,
  parsePrepare,
  parseRead,
  parseSelect,
  parseSign,
  prepareCommand,
  readCommand,
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

export const manufacturer: KeyPair = keyPairFromPem(
  readFileSync(join(repoRoot, 'fixtures', 'test-manufacturer', 'private-key.pem'), 'utf8'),
);

/** A genuine card's identity, as the factory made it. */
export interface Identity {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly certificate: Uint8Array;
  readonly identityPublicKey: Uint8Array;
}

/** Card ids differ per virtual card (and per developer offset): ASCII "ATTK" then the card number. */
function attackCardId(k: number): Uint8Array {
  const id = new Uint8Array(8);
  id.set([0x41, 0x54, 0x54, 0x4b]);
  new DataView(id.buffer).setUint32(4, k + cardOffset);
  return id;
}

/** A failure of the card to follow the document that is not a status word (a bad signature, a wrong header). */
export class CardMisbehaved extends Error {
  override readonly name = 'CardMisbehaved';
}

export class AttackHost {
  /** Primary id (hex) -> ids (hex) of the cards the host received a blob for from it. */
  readonly received = new Map<string, Set<string>>();
  readonly #identities: Identity[] = [];
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
    this.#previous = undefined;
    const wallets = new Map<number, Uint8Array>();
    for (const card of this.cards) {
      await control(card.k, 'wipe');
      this.#identities[card.k] = await this.#personalize(card, attackCardId(card.k));
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

  async #personalize(card: CardLink, id: Uint8Array): Promise<Identity> {
    await this.#ok(card, 'SELECT', selectCommand());
    const generated = await this.#ok(card, 'PERSO_GENERATE', cmd(INS.PERSO_GENERATE, id, 256));
    const identityPublicKey = generated.subarray(2);
    if (generated.length !== 67 || generated[0] !== TAG.IDENTITY_PUBLIC_KEY) throw new CardMisbehaved(`card ${card.k}: PERSO_GENERATE answer`);
    const signature = signMessage(certificateMessage(id, identityPublicKey), manufacturer.privateKey);
    await this.#ok(card, 'PERSO_COMMIT', cmd(INS.PERSO_COMMIT, encodeProtocolTlvs([
      [TAG.SIGNATURE, signature],
      [TAG.MANUFACTURER_PUBLIC_KEY, manufacturer.publicKey],
    ])));
    const certificate = encodeCertificate({ cardId: id, identityPublicKey, signature });
    const view = parseRead(await this.#ok(card, 'READ', readCommand()));
    if (view.state !== 'BLANK' || !view.certificate || !equalBytes(view.certificate, certificate)) {
      throw new CardMisbehaved(`card ${card.k}: not BLANK with its certificate after personalization`);
    }
    return { id, idHex: toHex(id), certificate, identityPublicKey };
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
    const reply = await this.#card(k).send('SELECT', selectCommand());
    return reply.sw === SW.OK ? { ...reply, state: parseSelect(reply.data) } : reply;
  }

  async read(k: number): Promise<CardView> {
    return parseRead(await this.#ok(this.#card(k), 'READ', readCommand()));
  }

  verifyPin(k: number, pin: Uint8Array): Promise<Reply> {
    return this.#card(k).send('VERIFY_PIN', verifyPinCommand(pin));
  }

  async createWallet(k: number, pin: Uint8Array): Promise<Reply & { walletPublicKey?: Uint8Array }> {
    const reply = await this.#card(k).send('CREATE_WALLET', createWalletCommand(pin));
    return reply.sw === SW.OK ? { ...reply, walletPublicKey: parseCreateWallet(reply.data) } : reply;
  }

  async sign(k: number, digest: Uint8Array): Promise<Reply & { signature?: Uint8Array; counter?: number }> {
    const reply = await this.#card(k).send('SIGN', signCommand(digest));
    return reply.sw === SW.OK ? { ...reply, ...parseSign(reply.data) } : reply;
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
    const reply = await this.#card(p).send(`BACKUP_EXPORT for ${toHex(offer.backupId)}`, exportCommand(offer));
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

  /** Like export, but the answer is lost (the card is pulled after running it, then put back). */
  exportTorn(p: number, offer: Offer): Promise<void> {
    return this.sendTorn(p, `BACKUP_EXPORT for ${toHex(offer.backupId)}`, exportCommand(offer));
  }

  async finalize(k: number): Promise<Reply & { count?: number }> {
    const reply = await this.#card(k).send('BACKUP_FINALIZE', finalizeCommand());
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
    await this.#card(k).sendTorn(name, command);
    const reply = await this.select(k);
    if (reply.sw !== SW.OK) throw new Error(`card ${k}: SELECT after reinsertion answered ${swHex(reply.sw)}`);
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
    const shown = views.map((v, k) => `${k}:${v.state}${v.backupCount > 0 ? `[${v.backupCardIds.map((id) => id.slice(-4)).join(',')}]` : ''}`);
    this.transcript.note(`(READ of every card: ${shown.join(' ')})`);
    return views;
  }

  /** READs every card and returns the I1/I2 violations (empty when they hold), remembering the views for the next check. */
  async invariantViolations(): Promise<{ views: CardView[]; problems: string[] }> {
    const views = await this.views();
    const problems = invariantViolations({ views, received: this.received, ...(this.#previous && { previous: this.#previous }) });
    this.#previous = views;
    return { views, problems };
  }
}
