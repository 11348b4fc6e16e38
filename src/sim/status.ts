/**
 * The simulator's state, read-only: what `scripts/sim.sh up` started in a run folder (PID files, control
 * sockets) and whether pcscd shows each card. Nothing here starts, stops or changes anything; the only
 * things sent anywhere are the control socket's `status` and `applet` queries.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcscService } from '../readers/index.js';
import { controlSocketPath, exchangeControlLine, parseCardStatus, parseCommandAnswer, type CardControlStatus } from './control.js';
import { readerCount, readerOfPort, simReaderName, simReaderPort } from './layout.js';

export interface SimCardStatus {
  readonly index: number;
  readonly pid: number | null;
  readonly running: boolean;
  /** The card's own vpcd port and reader: where `sim up` puts it (it may be elsewhere after `sim put`). */
  readonly port: number;
  readonly reader: string;
  /** The reader index the card is in (or going into) now; null when it is in none (pulled, or dead). */
  readonly inReader: number | null;
  /** The card's own answer to `status`: inserted / inserting / pulled, then `apdus=N port=P root=HEX`. */
  readonly control: string | null;
  /** The applet class under the twincard AID now (the fixture's `applet` query; null if it cannot say). */
  readonly applet: string | null;
  /** Whether pcscd reports a card in the reader this card is in (false in none; null when pcscd could not be asked). */
  readonly present: boolean | null;
  /** The manufacturer public key (65 bytes, uppercase hex) the card's applets were installed with; null if unknown. */
  readonly root: string | null;
}

/** One vpcd reader slot and the card in it now (`sim put` moves cards between them). */
export interface SimReaderStatus {
  readonly index: number;
  readonly name: string;
  readonly port: number;
  /** The card in this reader now, by the cards' own account; null when none. */
  readonly card: number | null;
  /** Whether pcscd reports a card in it (null when pcscd could not be asked). */
  readonly present: boolean | null;
}

export interface SimStatus {
  readonly runDir: string;
  readonly pcscd: { readonly running: boolean; readonly pid: number | null };
  /** What `sim up --applet` loaded besides the loopback applet, as `AID:Class` (the reference applet by default). */
  readonly applets: readonly string[];
  readonly cards: readonly SimCardStatus[];
  /** Every reader slot `sim up` configured (two per vpcd entry), with the card in it. */
  readonly readers: readonly SimReaderStatus[];
  /** pcscd and every card process alive. */
  readonly ok: boolean;
}

export async function simStatus(runDir: string): Promise<SimStatus> {
  const pcscdPid = readPid(join(runDir, 'pcscd.pid'));
  const pcscdRunning = pcscdPid !== null && isAlive(pcscdPid);
  const indices = listCardIndices(runDir);
  const present = pcscdRunning ? await readersWithCards() : null;
  const cards = await Promise.all(
    indices.map(async (index): Promise<SimCardStatus> => {
      const pid = readPid(join(runDir, `card-${index}.pid`));
      const running = pid !== null && isAlive(pid);
      const control = running ? await controlQuery(runDir, index, 'status') : null;
      const parsed = control === null ? null : statusOrNull(control);
      const inReader = parsed === null ? null : readerOfStatus(parsed, index);
      return {
        index,
        pid,
        running,
        port: simReaderPort(index),
        reader: simReaderName(index),
        inReader,
        control,
        applet: running ? appletName(await controlQuery(runDir, index, 'applet')) : null,
        present: present === null ? null : inReader !== null && present.has(simReaderName(inReader)),
        root: parsed?.root ?? null,
      };
    }),
  );
  const readers = Array.from({ length: indices.length === 0 ? 0 : readerCount(Math.max(...indices) + 1) }, (_, index): SimReaderStatus => {
    const name = simReaderName(index);
    return {
      index,
      name,
      port: simReaderPort(index),
      card: cards.find((c) => c.inReader === index)?.index ?? null,
      present: present === null ? null : present.has(name),
    };
  });
  return {
    runDir,
    pcscd: { running: pcscdRunning, pid: pcscdPid },
    applets: readApplets(runDir),
    cards,
    readers,
    ok: pcscdRunning && cards.length > 0 && cards.every((c) => c.running),
  };
}

/** The card indices `sim up` started in `runDir` (from their PID files), ascending. */
export function listCardIndices(runDir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^card-([0-9]{1,3})\.pid$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

function readPid(path: string): number | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readApplets(runDir: string): string[] {
  try {
    return readFileSync(join(runDir, 'applets'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/**
 * The reader a card's `status` puts it in: inserted or inserting into port P -> the reader on P; pulled -> null.
 * A card process older than `sim put` names no port: it is in its own reader.
 */
export function readerOfStatus(status: CardControlStatus, index: number): number | null {
  if (status.presence === 'pulled') return null;
  return status.port === null ? index : readerOfPort(status.port);
}

function statusOrNull(answer: string): CardControlStatus | null {
  try {
    return parseCardStatus(answer);
  } catch {
    return null;
  }
}

/** `ok some.Class` -> `some.Class`; `ok none`, an error, garbage or no answer -> null. */
function appletName(answer: string | null): string | null {
  if (answer === null) return null;
  try {
    const parsed = parseCommandAnswer(answer);
    return parsed.ok && /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(parsed.detail) && parsed.detail !== 'none' ? parsed.detail : null;
  } catch {
    return null;
  }
}

/** One answer line to a read-only query, null when the card gives none within 2 s (status reports, never fails). */
async function controlQuery(runDir: string, index: number, query: 'status' | 'applet'): Promise<string | null> {
  try {
    return await exchangeControlLine(controlSocketPath(runDir, index), query, 2000);
  } catch {
    return null;
  }
}

/** Names of the readers in which pcscd reports a card; null when pcscd cannot be asked. */
async function readersWithCards(): Promise<Set<string> | null> {
  let service: PcscService;
  try {
    service = PcscService.open();
  } catch {
    return null;
  }
  try {
    const readers = await service.waitForReaders({ timeoutMs: 2000 });
    return new Set(readers.filter((r) => r.cardPresent).map((r) => r.name));
  } finally {
    service.close();
  }
}
