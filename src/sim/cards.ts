/**
 * What can be done to a virtual card, through its control socket (and, for `putCard`, with pcscd watched):
 * the one implementation behind `twincard sim`, `scripts/sim.sh`, the benches and the test support.
 * @module
 */
import { existsSync } from 'node:fs';
import { PcscService, type ReaderState } from '../readers/index.js';
import { controlSocketPath, simCardStatus, simControl, SimControlError, type CardControlStatus, type CardPresence } from './control.js';
import { readerCount, simReaderName, simReaderPort } from './layout.js';
import { listCardIndices, readerOfStatus } from './status.js';

/** Card `index` has no control socket in the run folder: it was never started there, or its process is gone. */
export class SimCardNotRunningError extends Error {
  override readonly name = 'SimCardNotRunningError';
  constructor(
    readonly runDir: string,
    readonly card: number,
  ) {
    super(`card ${card} is not running in ${runDir} (twincard sim status lists the cards)`);
  }
}

/** A request the simulator cannot carry out as asked (a reader that does not exist, one another card holds). */
export class SimRequestError extends Error {
  override readonly name = 'SimRequestError';
}

/** How long a card gets to reach the state a command asked for, and pcscd to report it. */
const SETTLE_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** A Java class name, as the fixture's class loader takes it. */
const CLASS_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

/** @throws SimCardNotRunningError when card `card` has no control socket in `runDir` */
export function requireRunning(runDir: string, card: number): void {
  if (!existsSync(controlSocketPath(runDir, card))) throw new SimCardNotRunningError(runDir, card);
}

/** The index of the virtual card whose own reader is `readerName`, or undefined when it is no card of this sim. */
export function simCardForReader(runDir: string, readerName: string): number | undefined {
  return listCardIndices(runDir).find((k) => simReaderName(k) === readerName);
}

/** Waits until card `card` says it is `presence`. @throws SimControlError after {@link SETTLE_TIMEOUT_MS}. */
async function waitForPresence(runDir: string, card: number, presence: CardPresence): Promise<CardControlStatus> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const status = await simCardStatus(runDir, card);
    if (status.presence === presence) return status;
    if (Date.now() > deadline) {
      const says = `it says ${status.presence}`;
      throw new SimControlError(`virtual card ${card} did not become ${presence} within ${SETTLE_TIMEOUT_MS} ms (${says})`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Takes card `card` out of its reader (EEPROM kept); returns once the card has left vpcd. */
export async function pullCard(runDir: string, card: number): Promise<void> {
  requireRunning(runDir, card);
  await simControl(runDir, card, 'pull');
  await waitForPresence(runDir, card, 'pulled');
}

/**
 * Puts card `card` back into the reader it was last in (transient memory cleared, as on power-up); returns once
 * the card is connected to vpcd.
 * @throws SimRequestError when another card holds that reader now (`putCard` gave it away)
 */
export async function insertCard(runDir: string, card: number): Promise<void> {
  requireRunning(runDir, card);
  const status = await simCardStatus(runDir, card);
  const back = status.port === null ? card : status.port - simReaderPort(0);
  const holder = await occupant(runDir, back);
  if (holder !== null && holder !== card) {
    throw new SimRequestError(`reader ${back} holds card ${holder} now: twincard sim put ${card} READER puts card ${card} somewhere`);
  }
  await simControl(runDir, card, 'insert');
  await waitForPresence(runDir, card, 'inserted');
}

/** Lets card `card` process the next command, then pulls it before its answer reaches the host. */
export async function armPullAfterNext(runDir: string, card: number): Promise<void> {
  requireRunning(runDir, card);
  await simControl(runDir, card, 'pull-after-next');
}

/** Card `card` factory-fresh (state FACTORY): the sim's applets installed again, with the card's current root. */
export async function wipeCard(runDir: string, card: number): Promise<void> {
  requireRunning(runDir, card);
  await simControl(runDir, card, 'wipe');
}

/**
 * Card `card` wiped, with `className` (on the fixture's class path, e.g. a conformance-suite broken variant
 * `dev.twincard.broken.MacSkippedApplet`) under the twincard AID. `wipeCard` puts the sim's applet back.
 * @throws RangeError for a string that is not a Java class name; SimControlError when the card refuses it
 *   (no such class on its class path, or not an Applet)
 */
export async function installApplet(runDir: string, card: number, className: string): Promise<void> {
  if (!CLASS_NAME.test(className)) throw new RangeError(`applet class: not a Java class name: ${JSON.stringify(className)}`);
  requireRunning(runDir, card);
  await simControl(runDir, card, `applet ${className}`);
}

/** The applet class under the twincard AID on card `card`, or null when it has none. */
export async function cardApplet(runDir: string, card: number): Promise<string | null> {
  requireRunning(runDir, card);
  const detail = (await simControl(runDir, card, 'applet')).slice(3);
  if (detail === 'none') return null;
  if (!CLASS_NAME.test(detail)) {
    throw new SimControlError(`virtual card ${card}: 'applet' answered ${JSON.stringify(detail)}, not a class name`);
  }
  return detail;
}

/**
 * Card `card` wiped and installed again with another manufacturer root (docs/protocol.md section 6, "Installation").
 * @param root 65 bytes 04 || X || Y, hex (see `rootPointHex`)
 */
export async function setCardRoot(runDir: string, card: number, root: string): Promise<void> {
  if (!/^04[0-9A-Fa-f]{128}$/.test(root)) throw new RangeError('root: expected 65 bytes of hex, 04 || X || Y');
  requireRunning(runDir, card);
  await simControl(runDir, card, `root ${root.toUpperCase()}`);
}

/** The root card `card`'s applets were installed with (uppercase hex). */
export async function cardRoot(runDir: string, card: number): Promise<string> {
  requireRunning(runDir, card);
  const detail = (await simControl(runDir, card, 'root')).slice(3);
  if (!/^04[0-9A-F]{128}$/.test(detail)) {
    throw new SimControlError(`virtual card ${card}: 'root' answered ${JSON.stringify(detail)}, not a point`);
  }
  return detail;
}

/** The card in reader `reader` now (inserted or going in), null when there is none; dead cards do not count. */
async function occupant(runDir: string, reader: number): Promise<number | null> {
  for (const k of listCardIndices(runDir)) {
    if (!existsSync(controlSocketPath(runDir, k))) continue;
    let status: CardControlStatus;
    try {
      status = await simCardStatus(runDir, k, 2000);
    } catch {
      continue; // a card that does not answer holds no reader
    }
    if (readerOfStatus(status, k) === reader) return k;
  }
  return null;
}

/**
 * Card `card` into reader `reader`: a person with one reader swapping cards. The card in `reader` leaves it (in no
 * reader until put somewhere; EEPROM kept), `card` leaves its own reader, pcscd reports `reader` empty, then `card`
 * goes in and pcscd reports it present: the host sees a fresh tap.
 * @returns the card that was in `reader` and had to leave, or null
 */
export async function putCard(runDir: string, card: number, reader: number): Promise<number | null> {
  requireRunning(runDir, card);
  const readers = readerCount(Math.max(-1, ...listCardIndices(runDir)) + 1);
  if (!Number.isInteger(reader) || reader < 0 || reader >= readers) {
    throw new SimRequestError(`reader ${reader} does not exist: readers are 0..${readers - 1}`);
  }
  const holder = await occupant(runDir, reader);
  if (holder !== null && holder !== card) {
    await simControl(runDir, holder, 'pull');
    await waitForPresence(runDir, holder, 'pulled');
  }
  const from = readerOfStatus(await simCardStatus(runDir, card), card);
  const service = PcscService.open();
  try {
    if (from !== null) {
      await simControl(runDir, card, 'pull');
      await waitForPresence(runDir, card, 'pulled');
      await pcscdReports(service, from, false);
    }
    await pcscdReports(service, reader, false);
    await simControl(runDir, card, `move ${simReaderPort(reader)}`);
    await simControl(runDir, card, 'insert');
    await waitForPresence(runDir, card, 'inserted');
    await pcscdReports(service, reader, true);
  } finally {
    service.close();
  }
  return holder === card ? null : holder;
}

/**
 * Waits until pcscd itself reports reader `reader` with a card (or without): a removal pcscd never saw would not
 * be a fresh tap, only the card process closing its socket.
 * @throws SimControlError after {@link SETTLE_TIMEOUT_MS}, saying what pcscd reports
 */
async function pcscdReports(service: PcscService, reader: number, present: boolean): Promise<void> {
  const name = simReaderName(reader);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  await service.waitForReaders({ timeoutMs: SETTLE_TIMEOUT_MS });
  const seen = () => service.readers().find((r) => r.name === name)?.cardPresent;
  if (seen() === present) return;
  const reached = await new Promise<boolean>((resolve) => {
    const offs = [service.on('card-inserted', check), service.on('card-removed', check), service.on('reader-added', check)];
    const timer = setTimeout(() => done(false), Math.max(0, deadline - Date.now()));
    function check(): void {
      if (seen() === present) done(true);
    }
    function done(value: boolean): void {
      clearTimeout(timer);
      for (const off of offs) off();
      resolve(value);
    }
    check();
  });
  if (!reached) {
    const now = seen();
    throw new SimControlError(
      `pcscd did not report reader ${reader} (${name}) ${present ? 'with' : 'without'} a card within ${SETTLE_TIMEOUT_MS} ms ` +
        `(it reports ${now === undefined ? 'no such reader' : now ? 'a card' : 'no card'})`,
    );
  }
}

/**
 * Every running card back in its own reader and told to go in (what `sim up` promises): cards elsewhere are pulled
 * and moved home first. {@link waitForSimCards} then waits for pcscd to see them.
 * @public `scripts/lib/sim-helper.mjs` calls it through dist/, where knip cannot follow.
 */
export async function homeAllCards(runDir: string): Promise<void> {
  const cards = listCardIndices(runDir).filter((k) => existsSync(controlSocketPath(runDir, k)));
  for (const k of cards) {
    const status = await simCardStatus(runDir, k);
    if (status.port !== null && status.port !== simReaderPort(k)) {
      await simControl(runDir, k, 'pull');
      await waitForPresence(runDir, k, 'pulled');
      await simControl(runDir, k, `move ${simReaderPort(k)}`);
    }
  }
  for (const k of cards) await simControl(runDir, k, 'insert');
}

/**
 * Waits until pcscd reports a card in the own reader of each of cards 0..cards-1.
 * @returns every reader pcscd lists with a card, by name
 * @throws SimControlError after `timeoutMs`, naming the readers still empty
 * @public `scripts/lib/sim-helper.mjs` calls it through dist/, where knip cannot follow.
 */
export async function waitForSimCards(cards: number, timeoutMs: number): Promise<ReaderState[]> {
  const wanted = Array.from({ length: cards }, (_, k) => simReaderName(k));
  const service = PcscService.open();
  try {
    const missing = () => {
      const present = new Set(
        service
          .readers()
          .filter((r) => r.cardPresent)
          .map((r) => r.name),
      );
      return wanted.filter((name) => !present.has(name));
    };
    await service.waitForReaders({ timeoutMs });
    const deadline = Date.now() + timeoutMs;
    while (missing().length > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const off = service.on('card-inserted', () => {
          off();
          clearTimeout(timer);
          resolve();
        });
        const timer = setTimeout(
          () => {
            off();
            resolve();
          },
          Math.min(500, Math.max(0, deadline - Date.now())),
        );
      });
    }
    const still = missing();
    if (still.length > 0) throw new SimControlError(`pcscd does not show a card in ${still.join(', ')} after ${timeoutMs} ms`);
    return service.readers().filter((r) => r.cardPresent);
  } finally {
    service.close();
  }
}
