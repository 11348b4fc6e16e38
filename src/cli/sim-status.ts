/**
 * `twincard sim status`, read-only: what `scripts/sim.sh up` started in a run folder (PID files, control
 * sockets) and whether pcscd shows each card. Nothing here starts, stops or changes anything; the only
 * thing sent anywhere is the control socket's `status` query.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { PcscService } from '../readers/index.js';

/** vpcd's first port; an entry with CHANNELID P serves readers on P and P+1 (scripts/sim.sh). */
const VPCD_BASE_PORT = 35963;

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

/** Reader name of virtual card k: slot k%2 of vpcd entry k/2; entries after the first are "Virtual PCD <n>". */
export function simReaderName(k: number): string {
  const entry = Math.floor(k / 2);
  return `${entry === 0 ? 'Virtual PCD' : `Virtual PCD ${entry + 1}`} 00 0${k % 2}`;
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
      const reader = simReaderName(index);
      const control = running ? await controlQuery(join(runDir, `card-${index}.sock`), 'status') : null;
      const inReader = control === null ? null : readerFromControl(control, index);
      return {
        index,
        pid,
        running,
        port: VPCD_BASE_PORT + index,
        reader,
        inReader,
        control,
        applet: running ? appletName(await controlQuery(join(runDir, `card-${index}.sock`), 'applet')) : null,
        present: present === null ? null : inReader !== null && present.has(simReaderName(inReader)),
        root: control === null ? null : rootFromControl(control),
      };
    }),
  );
  const readerCount = indices.length === 0 ? 0 : (Math.floor(Math.max(...indices) / 2) + 1) * 2;
  const readers = Array.from({ length: readerCount }, (_, index): SimReaderStatus => {
    const name = simReaderName(index);
    return {
      index,
      name,
      port: VPCD_BASE_PORT + index,
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
    return readFileSync(join(runDir, 'applets'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/**
 * The reader a card's `status` answer puts it in: `inserted|inserting ... port=P` -> P - base port; `pulled` ->
 * null. A card process older than `sim put` names no port: it is in its own reader.
 */
function readerFromControl(answer: string, index: number): number | null {
  if (!/^(inserted|inserting)\b/.test(answer)) return null;
  const port = /\bport=([0-9]{1,5})\b/.exec(answer)?.[1];
  if (port === undefined) return index;
  const reader = Number(port) - VPCD_BASE_PORT;
  return reader >= 0 ? reader : null;
}

/** The `root=HEX` of a card's `status` answer (65 bytes, 04 || X || Y), or null. */
function rootFromControl(answer: string): string | null {
  return /\broot=(04[0-9A-F]{128})\b/.exec(answer)?.[1] ?? null;
}

/** `ok some.Class` -> `some.Class`; `ok none`, an error or no answer -> null. */
function appletName(answer: string | null): string | null {
  const match = answer === null ? null : /^ok ([\w.$]+)$/.exec(answer);
  return match?.[1] === undefined || match[1] === 'none' ? null : match[1];
}

/** One answer line from a card's control socket to a read-only query, null when none comes within 2 s. */
function controlQuery(socketPath: string, query: 'status' | 'applet'): Promise<string | null> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ path: socketPath });
    const done = (value: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), 2000);
    socket.on('connect', () => socket.write(`${query}\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\n')) done(answer.trim());
    });
    socket.on('error', () => done(null));
    socket.on('end', () => done(answer === '' ? null : answer.trim()));
  });
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
