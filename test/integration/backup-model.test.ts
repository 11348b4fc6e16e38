/**
 * Model-based random testing of the version 2 invariants through pcscd: a host that knows the access code
 * drives 4 virtual cards (card 0 starts as a WALLET primary, 1..3 BLANK, all personalized with the TEST root)
 * with random sequences of SELECT, OPEN_SESSION, VERIFY_PIN (right or wrong, bounded), BACKUP_PREPARE,
 * BACKUP_CANCEL, BACKUP_EXPORT with ANY offer the host has seen (fresh or stale, any card's), BACKUP_FINALIZE,
 * BACKUP_IMPORT of ANY export the host has seen, CREATE_WALLET, SIGN, CHANGE_ACCESS_CODE and RESET (right or wrong
 * code), and torn commands (the card runs it, the answer is lost). The commands that carry or use the code go
 * wrapped in the host's own session (section 1.4: the attacker knows the code, so it IS a host); the session and
 * the code's verification go with SELECT, OPEN_SESSION and a tear. A RESET card may take part again, as a new
 * primary or a backup card, and I1 still counts the clones of a reset primary against its final record.
 *
 * After EVERY command: the status word must be one section 6 lists for that command, 6985 outside section 3's
 * states, and exactly the one the model of docs/protocol.md predicts; every card's READ must match the model;
 * I1 and I2 must hold on the READs; a successful import must satisfy I3. A violation shrinks to the shortest
 * sequence, printed as commands and as APDUs (hex) with the answers.
 *
 * TWINCARD_MODEL_SEED and TWINCARD_MODEL_RUNS override the seed (printed) and the number of runs.
 */
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, type CommandApdu } from '../../src/apdu/index.js';
import { checkWalletSignature } from '../../src/protocol/crypto.js';
import { PcscService } from '../../src/readers/index.js';
import { AttackHost } from './support/attack/host.js';
import type { Reply } from './support/attack/card-link.js';
import {
  blankCard,
  expectedCancel,
  expectedChangeCode,
  expectedCreateWallet,
  expectedExport,
  expectedFinalize,
  expectedImport,
  expectedPrepare,
  expectedReset,
  expectedSign,
  expectedVerify,
  holdsWallet,
  modelMismatches,
  PIN_TRIES,
  resetToBlank,
  SPEC_WORDS,
  STATES_ALLOWED,
  type Model,
  type ObservedExport,
} from './support/attack/model.js';
import {
  cancelCommand,
  exportCommand,
  finalizeCommand,
  importCommand,
  prepareCommand,
  SW,
  swHex,
  type Offer,
  type State,
} from './support/attack/wire.js';

const CARDS = 4;
const RUNS = positiveInt('TWINCARD_MODEL_RUNS', 50);
const SEED = positiveInt('TWINCARD_MODEL_SEED', (Date.now() ^ (Math.random() * 0x7fffffff)) & 0x7fffffff);
const MAX_COMMANDS = 50;
const PRIMARY_PIN = new TextEncoder().encode('135790');
const WRONG_PIN = new TextEncoder().encode('0000');
const DIGEST = sha256(new TextEncoder().encode('twincard model test'));

function positiveInt(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  if (!/^[0-9]{1,10}$/.test(value)) throw new Error(`${name} must be a non-negative integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** The access code a card gets when CREATE_WALLET runs on it: distinct per card, so a blob carries its primary's. */
function pinFor(k: number): Uint8Array {
  return k === 0 ? PRIMARY_PIN : new TextEncoder().encode(`2468${k}`);
}

/** CHANGE_ACCESS_CODE swaps a card's code between its own and this one (hex), so either may travel in a blob. */
const CHANGED_PIN = toHex(new TextEncoder().encode('8642097531'));

function nextPin(current: string | undefined, k: number): Uint8Array {
  return fromHex(current === CHANGED_PIN ? toHex(pinFor(k)) : CHANGED_PIN);
}

interface Real {
  readonly host: AttackHost;
}

class Violation extends Error {
  override readonly name = 'Violation';
}

let service: PcscService;
let host: AttackHost;
let commandsRun = 0;
let runsStarted = 0;
/** How often each command met each answer ("BACKUP_IMPORT 9A03"): shows which corners the runs reached. */
const outcomes = new Map<string, number>();

function tally(what: string): void {
  outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
}

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  host = await AttackHost.open(service, CARDS);
});

afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  await host?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  service?.close();
});

// ---------------------------------------------------------------------------------------------
// The checks after every command

function fail(r: Real, problems: readonly string[]): never {
  throw new Violation(`${problems.join('\n')}\n--- APDUs of this run (card => command, card <= answer):\n${r.host.transcript.text()}`);
}

/** The word against section 6's list, section 3's table and the model's one prediction. */
function checkWord(r: Real, name: string, k: number, before: State, sw: number, expected: number): void {
  const problems: string[] = [];
  if (!(SPEC_WORDS[name] ?? []).includes(sw)) problems.push(`${name} on card ${k}: ${swHex(sw)} is not a word section 6 allows for it`);
  const states = STATES_ALLOWED[name];
  if (states !== undefined && !states.includes(before) && sw !== SW.CONDITIONS_NOT_SATISFIED) {
    problems.push(`${name} on card ${k} in ${before} answered ${swHex(sw)}: section 3 says 6985`);
  }
  if (sw !== expected) problems.push(`${name} on card ${k} in ${before} answered ${swHex(sw)}, the document says ${swHex(expected)}`);
  if (problems.length > 0) fail(r, problems);
}

/** Every card READ against the model, and I1/I2 on those READs. */
async function checkCards(m: Model, r: Real): Promise<void> {
  const { views, problems } = await r.host.invariantViolations();
  views.forEach((view, k) => problems.push(...modelMismatches(k, m.cards[k]!, view)));
  if (problems.length > 0) fail(r, problems);
}

// ---------------------------------------------------------------------------------------------
// Commands

/**
 * One command on card k. `expected` is the one word the document allows; `apply` moves the model on, given
 * the answer (undefined when the command was torn: the card ran it and the model assumes the expected word).
 */
abstract class Step<R extends Reply> implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly k: number,
    readonly torn = false,
  ) {}

  abstract readonly name: string;
  protected abstract expected(m: Model): number;
  protected abstract send(m: Model, r: Real): Promise<R>;
  /** The APDU for a torn send (its plain form when `wrappedForm`: the host wraps it in its session). */
  protected command(_m: Model): CommandApdu {
    throw new Error(`${this.name} is never torn`);
  }
  /** The command goes wrapped (section 1.4). */
  protected readonly wrappedForm: boolean = false;
  /** Moves the model on; returns anything the answer itself got wrong. */
  protected abstract apply(m: Model, sw: number, reply: R | undefined): string[];

  check(_m: Readonly<Model>): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    commandsRun += 1;
    const card = m.cards[this.k]!;
    const before = card.state;
    const expected = this.expected(m);
    let problems: string[];
    if (this.torn) {
      if (this.wrappedForm) await r.host.sendTornWrapped(this.k, this.name, this.command(m));
      else await r.host.sendTorn(this.k, this.name, this.command(m));
      problems = this.apply(m, expected, undefined);
      card.verified = false; // the card was reset: a new selection
      tally(`torn ${this.name} ${swHex(expected)}`);
    } else {
      const reply = await this.send(m, r);
      checkWord(r, this.name, this.k, before, reply.sw, expected);
      tally(`${this.name} ${swHex(reply.sw)}`);
      problems = this.apply(m, reply.sw, reply);
    }
    if (problems.length > 0) fail(r, problems);
    await checkCards(m, r);
  }

  toString(): string {
    return `${this.torn ? 'torn ' : ''}${this.name}(${this.k}${this.detail()})`;
  }

  protected detail(): string {
    return '';
  }
}

class Select extends Step<Reply & { state?: State }> {
  readonly name = 'SELECT';
  protected expected(): number {
    return SW.OK;
  }
  protected send(_m: Model, r: Real) {
    return r.host.select(this.k);
  }
  protected apply(m: Model, _sw: number, reply: (Reply & { state?: State }) | undefined): string[] {
    const card = m.cards[this.k]!;
    card.verified = false;
    return reply?.state === card.state ? [] : [`SELECT on card ${this.k} says ${String(reply?.state)}, the model ${card.state}`];
  }
}

class OpenSession extends Step<Reply> {
  readonly name = 'OPEN_SESSION';
  protected expected(): number {
    return SW.OK;
  }
  protected send(_m: Model, r: Real) {
    return r.host.openSession(this.k);
  }
  protected apply(m: Model): string[] {
    m.cards[this.k]!.verified = false; // the code's verification belonged to the replaced session
    return [];
  }
}

/** Bounded like VerifyPin: a wrong code never takes a card below 2 tries left. */
function wrongCodeAllowed(m: Readonly<Model>, k: number, right: boolean): boolean {
  const card = m.cards[k]!;
  return right || !holdsWallet(card) || card.triesLeft > 2;
}

/** The code a step sends: the card's own when right (and it has one), else a wrong one. */
function codeFor(m: Model, k: number, right: boolean): Uint8Array {
  const pin = m.cards[k]!.pin;
  return right && pin !== undefined ? fromHex(pin) : WRONG_PIN;
}

/** After a code check: OwnerPIN's try counter, and the verification cleared whatever the outcome. */
function applyCodeCheck(m: Model, k: number, sw: number): void {
  const card = m.cards[k]!;
  if (sw === SW.OK) card.triesLeft = PIN_TRIES;
  else if ((sw & 0xfff0) === 0x63c0) card.triesLeft = sw & 0x0f;
  if (sw === SW.OK || (sw & 0xfff0) === 0x63c0) card.verified = false;
}

class ChangeCode extends Step<Reply> {
  readonly name = 'CHANGE_ACCESS_CODE';
  constructor(
    k: number,
    readonly right: boolean,
  ) {
    super(k);
  }
  override check(m: Readonly<Model>): boolean {
    return wrongCodeAllowed(m, this.k, this.right);
  }
  protected expected(m: Model): number {
    return expectedChangeCode(m.cards[this.k]!, this.right);
  }
  protected send(m: Model, r: Real) {
    const card = m.cards[this.k]!;
    return r.host.changeAccessCode(this.k, codeFor(m, this.k, this.right), nextPin(card.pin, this.k));
  }
  protected apply(m: Model, sw: number): string[] {
    const card = m.cards[this.k]!;
    applyCodeCheck(m, this.k, sw);
    if (sw === SW.OK) card.pin = toHex(nextPin(card.pin, this.k)); // this card only: its clones keep theirs
    return [];
  }
  protected override detail(): string {
    return this.right ? ', right' : ', wrong';
  }
}

class Reset extends Step<Reply> {
  readonly name = 'RESET';
  constructor(
    k: number,
    readonly right: boolean,
  ) {
    super(k);
  }
  override check(m: Readonly<Model>): boolean {
    return wrongCodeAllowed(m, this.k, this.right);
  }
  protected expected(m: Model): number {
    return expectedReset(m.cards[this.k]!, this.right);
  }
  protected send(m: Model, r: Real) {
    return r.host.resetCard(this.k, codeFor(m, this.k, this.right));
  }
  protected apply(m: Model, sw: number): string[] {
    applyCodeCheck(m, this.k, sw);
    if (sw === SW.OK) resetToBlank(m.cards[this.k]!);
    return [];
  }
  protected override detail(): string {
    return this.right ? ', right' : ', wrong';
  }
}

class VerifyPin extends Step<Reply> {
  readonly name = 'VERIFY_PIN';
  constructor(
    k: number,
    readonly right: boolean,
  ) {
    super(k);
  }
  /** Bounded: a wrong code never takes a card below 2 tries left, so the cards stay usable. */
  override check(m: Readonly<Model>): boolean {
    const card = m.cards[this.k]!;
    return this.right || !holdsWallet(card) || card.triesLeft > 2;
  }
  protected expected(m: Model): number {
    return expectedVerify(m.cards[this.k]!, this.right);
  }
  protected send(m: Model, r: Real) {
    const pin = m.cards[this.k]!.pin;
    return r.host.verifyPin(this.k, this.right && pin !== undefined ? fromHex(pin) : WRONG_PIN);
  }
  protected apply(m: Model, sw: number): string[] {
    const card = m.cards[this.k]!;
    if (sw === SW.OK) {
      card.verified = true;
      card.triesLeft = PIN_TRIES;
    } else if ((sw & 0xfff0) === 0x63c0) {
      card.verified = false;
      card.triesLeft = sw & 0x0f;
    }
    return [];
  }
  protected override detail(): string {
    return this.right ? ', right' : ', wrong';
  }
}

class CreateWallet extends Step<Reply & { walletPublicKey?: Uint8Array }> {
  readonly name = 'CREATE_WALLET';
  protected expected(m: Model): number {
    return expectedCreateWallet(m.cards[this.k]!);
  }
  protected send(_m: Model, r: Real) {
    return r.host.createWallet(this.k, pinFor(this.k));
  }
  protected apply(m: Model, sw: number, reply: (Reply & { walletPublicKey?: Uint8Array }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    card.state = 'WALLET';
    card.origin = 'created';
    card.walletPublicKey = toHex(reply!.walletPublicKey!);
    card.pin = toHex(pinFor(this.k));
    card.triesLeft = PIN_TRIES;
    card.verified = false; // OwnerPIN.update clears the validated flag
    return [];
  }
}

class Sign extends Step<Reply & { signature?: Uint8Array; counter?: number }> {
  readonly name = 'SIGN';
  protected expected(m: Model): number {
    return expectedSign(m.cards[this.k]!);
  }
  protected send(_m: Model, r: Real) {
    return r.host.sign(this.k, DIGEST);
  }
  protected apply(m: Model, sw: number, reply: (Reply & { signature?: Uint8Array; counter?: number }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    card.signCounter += 1;
    const problems: string[] = [];
    if (reply!.counter !== card.signCounter)
      problems.push(`SIGN on card ${this.k}: counter ${String(reply!.counter)}, expected ${card.signCounter}`);
    const key = fromHex(card.walletPublicKey!);
    if (checkWalletSignature(reply!.signature!, DIGEST, key) === undefined) {
      problems.push(`SIGN on card ${this.k}: the signature does not verify under the wallet key the card reports`);
    }
    return problems;
  }
}

class Prepare extends Step<Reply & { offer?: Offer }> {
  readonly name = 'BACKUP_PREPARE';
  protected expected(m: Model): number {
    return expectedPrepare(m.cards[this.k]!);
  }
  protected send(_m: Model, r: Real) {
    return r.host.prepare(this.k);
  }
  protected override command(): CommandApdu {
    return prepareCommand();
  }
  protected apply(m: Model, sw: number, reply: (Reply & { offer?: Offer }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    const wasBlank = card.state === 'BLANK';
    card.state = 'BACKUP_PENDING';
    if (reply === undefined) {
      if (wasBlank) delete card.eb; // a new EB the host never saw
      return [];
    }
    const eb = toHex(reply.offer!.eb);
    const problems: string[] = [];
    if (card.eb !== undefined && eb !== card.eb)
      problems.push(`BACKUP_PREPARE on pending card ${this.k} answered a new EB (the document: the same EB again)`);
    if (card.eb === undefined && m.ebsSeen.has(eb)) problems.push(`BACKUP_PREPARE on card ${this.k} answered an EB seen before`);
    card.eb = eb;
    m.ebsSeen.add(eb);
    m.offers.push(reply.offer!);
    return problems;
  }
}

class Cancel extends Step<Reply> {
  readonly name = 'BACKUP_CANCEL';
  protected expected(m: Model): number {
    return expectedCancel(m.cards[this.k]!);
  }
  protected send(_m: Model, r: Real) {
    return r.host.cancel(this.k);
  }
  protected override command(): CommandApdu {
    return cancelCommand();
  }
  protected apply(m: Model, sw: number): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    card.state = 'BLANK';
    delete card.eb;
    return [];
  }
}

class Export extends Step<Reply & { sealed?: ObservedExport['sealed'] }> {
  readonly name = 'BACKUP_EXPORT';
  constructor(
    k: number,
    readonly pick: number,
    torn = false,
  ) {
    super(k, torn);
  }
  override check(m: Readonly<Model>): boolean {
    return m.offers.length > 0;
  }
  #offer(m: Model): Offer {
    return m.offers[this.pick % m.offers.length]!;
  }
  protected expected(m: Model): number {
    return expectedExport(m.cards[this.k]!, this.#offer(m));
  }
  protected send(m: Model, r: Real) {
    return r.host.export(this.k, this.#offer(m));
  }
  protected override readonly wrappedForm = true;
  protected override command(m: Model): CommandApdu {
    return exportCommand(this.#offer(m));
  }
  protected apply(m: Model, sw: number, reply: (Reply & { sealed?: ObservedExport['sealed'] }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    const backupId = toHex(this.#offer(m).backupId);
    if (!card.backupIds.includes(backupId)) card.backupIds.push(backupId);
    card.state = 'BACKUP_EXPORTING';
    if (reply !== undefined) m.exports.push({ sealed: reply.sealed!, walletPublicKey: card.walletPublicKey!, pin: card.pin! });
    return [];
  }
  protected override detail(): string {
    return `, offer #${this.pick}`;
  }
}

class Finalize extends Step<Reply & { count?: number }> {
  readonly name = 'BACKUP_FINALIZE';
  protected expected(m: Model): number {
    return expectedFinalize(m.cards[this.k]!);
  }
  protected send(_m: Model, r: Real) {
    return r.host.finalize(this.k);
  }
  protected override readonly wrappedForm = true;
  protected override command(): CommandApdu {
    return finalizeCommand();
  }
  protected apply(m: Model, sw: number, reply: (Reply & { count?: number }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    card.state = 'BACKED_UP';
    const count = card.backupIds.length;
    return reply === undefined || reply.count === count
      ? []
      : [`BACKUP_FINALIZE on card ${this.k} answered count ${String(reply.count)}, recorded ${count}`];
  }
}

class Import extends Step<Reply & { walletPublicKey?: Uint8Array; result?: number }> {
  readonly name = 'BACKUP_IMPORT';
  constructor(
    k: number,
    readonly pick: number,
    torn = false,
  ) {
    super(k, torn);
  }
  override check(m: Readonly<Model>): boolean {
    return m.exports.length > 0;
  }
  #export(m: Model): ObservedExport {
    return m.exports[this.pick % m.exports.length]!;
  }
  protected expected(m: Model): number {
    return expectedImport(m.cards[this.k]!, this.#export(m)).sw;
  }
  protected send(m: Model, r: Real) {
    return r.host.import(this.k, this.#export(m).sealed);
  }
  protected override command(m: Model): CommandApdu {
    return importCommand(this.#export(m).sealed);
  }
  protected apply(m: Model, sw: number, reply: (Reply & { walletPublicKey?: Uint8Array; result?: number }) | undefined): string[] {
    if (sw !== SW.OK) return [];
    const card = m.cards[this.k]!;
    const x = this.#export(m);
    const { result } = expectedImport(card, x);
    const problems: string[] = [];
    if (reply !== undefined) {
      if (reply.result !== result)
        problems.push(`BACKUP_IMPORT on card ${this.k}: IMPORT_RESULT ${String(reply.result)}, the document says ${String(result)}`);
      if (toHex(reply.walletPublicKey!) !== x.walletPublicKey)
        problems.push(`BACKUP_IMPORT on card ${this.k}: a wallet key that is not the exporter's`);
    }
    if (result !== 0) return problems;
    // I3: the blob's seal names this card and the EB of its latest BACKUP_PREPARE not followed by a cancel.
    if (toHex(x.sealed.offer.backupId) !== card.id || card.eb === undefined || toHex(x.sealed.offer.eb) !== card.eb) {
      problems.push(
        `I3: card ${this.k} imported a blob sealed to ${toHex(x.sealed.offer.backupId)}/EB ` +
          `${toHex(x.sealed.offer.eb).slice(0, 16)}..., its current EB is ${String(card.eb?.slice(0, 16))}`,
      );
    }
    card.state = 'BACKED_UP';
    card.origin = 'imported';
    card.walletPublicKey = x.walletPublicKey;
    card.pin = x.pin; // the code of the exporter's selection travels in the blob
    card.primaryId = toHex(x.sealed.primaryId);
    card.importedTag = toHex(x.sealed.blob.subarray(193 - 32));
    card.triesLeft = PIN_TRIES;
    card.verified = false;
    delete card.eb;
    return problems;
  }
  protected override detail(): string {
    return `, export #${this.pick}`;
  }
}

// ---------------------------------------------------------------------------------------------

const card = fc.integer({ min: 0, max: CARDS - 1 });
/** The primary (card 0) is the usual exporter and the card whose code is usually verified; any card may be. */
const exporter = fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: card, weight: 1 });
/** Cards 1..3 are the usual backup cards; the primary may be asked too. */
const backupCard = fc.oneof({ arbitrary: fc.integer({ min: 1, max: CARDS - 1 }), weight: 4 }, { arbitrary: card, weight: 1 });
const pick = fc.nat({ max: 99 });
const TORN_KINDS = ['prepare', 'cancel', 'export', 'import', 'finalize'] as const;

const step: fc.Arbitrary<fc.AsyncCommand<Model, Real>> = fc.oneof(
  { arbitrary: card.map((k) => new Select(k)), weight: 1 },
  { arbitrary: fc.tuple(exporter, fc.boolean(), fc.boolean()).map(([k, a, b]) => new VerifyPin(k, a || b)), weight: 4 },
  { arbitrary: backupCard.map((k) => new Prepare(k)), weight: 3 },
  { arbitrary: backupCard.map((k) => new Cancel(k)), weight: 1 },
  { arbitrary: fc.tuple(exporter, pick).map(([k, n]) => new Export(k, n)), weight: 5 },
  { arbitrary: exporter.map((k) => new Finalize(k)), weight: 1 },
  { arbitrary: fc.tuple(backupCard, pick).map(([k, n]) => new Import(k, n)), weight: 5 },
  { arbitrary: card.map((k) => new CreateWallet(k)), weight: 1 },
  { arbitrary: card.map((k) => new Sign(k)), weight: 1 },
  { arbitrary: card.map((k) => new OpenSession(k)), weight: 1 },
  { arbitrary: fc.tuple(card, fc.boolean(), fc.boolean()).map(([k, a, b]) => new ChangeCode(k, a || b)), weight: 1 },
  { arbitrary: fc.tuple(card, fc.boolean(), fc.boolean(), fc.boolean()).map(([k, a, b, c]) => new Reset(k, (a || b) && c)), weight: 1 },
  {
    arbitrary: fc.tuple(fc.constantFrom(...TORN_KINDS), card, pick).map(([kind, k, n]): fc.AsyncCommand<Model, Real> => {
      if (kind === 'prepare') return new Prepare(k, true);
      if (kind === 'cancel') return new Cancel(k, true);
      if (kind === 'export') return new Export(k, n, true);
      if (kind === 'import') return new Import(k, n, true);
      return new Finalize(k, true);
    }),
    weight: 1,
  },
);

async function setup(): Promise<{ model: Model; real: Real }> {
  runsStarted += 1;
  const wallets = await host.reset([0], PRIMARY_PIN);
  const cards = Array.from({ length: CARDS }, (_, k) => blankCard(host.identity(k).idHex));
  const primary = cards[0]!;
  primary.state = 'WALLET';
  primary.origin = 'created';
  primary.walletPublicKey = toHex(wallets.get(0)!);
  primary.pin = toHex(PRIMARY_PIN);
  return { model: { cards, offers: [], exports: [], ebsSeen: new Set() }, real: { host } };
}

test(`random command sequences from a host that knows the code keep I1-I3 (seed ${SEED}, ${RUNS} runs)`, async () => {
  const started = Date.now();
  const apdusBefore = host.apdus;
  console.log(`backup-model: seed ${SEED}, ${RUNS} runs of up to ${MAX_COMMANDS} commands (TWINCARD_MODEL_SEED / TWINCARD_MODEL_RUNS)`);
  try {
    await fc.assert(
      fc.asyncProperty(fc.commands([step], { maxCommands: MAX_COMMANDS, size: 'max' }), (cmds) => fc.asyncModelRun(setup, cmds)),
      { seed: SEED, numRuns: RUNS, endOnFailure: false, verbose: fc.VerbosityLevel.Verbose },
    );
  } finally {
    console.log(
      `backup-model: ${runsStarted} runs (shrinking included), ${commandsRun} commands, ` +
        `${host.apdus - apdusBefore} APDUs, ${((Date.now() - started) / 1000).toFixed(1)} s\n` +
        [...outcomes]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([what, n]) => `  ${what}: ${n}`)
          .join('\n'),
    );
  }
}, 600_000);
