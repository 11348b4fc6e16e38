/**
 * One measured backup on a bench (every card in its own reader): the real `twincard backup` path
 * (src/flow/backup-runner.ts over a bench-mode PcscCardSource, the journal saved atomically after
 * every step) with an {@link ApduLedger} around each card's transport. Also what a benchmark needs
 * around it, untimed: fresh cards (wipe, personalize with a manufacturer key, create the wallet), and
 * the transport-only baseline (the same wire APDUs, by size, to the loopback applet).
 *
 * Timing of a step: from the runner asking for its card to the runner asking for the next one (or
 * finishing), so the steps add up to the backup's wall time: it includes connecting to the card,
 * the step's APDUs, the host's checks, the journal's fsync, and resetting the card afterwards.
 * @module
 */
import { parseCertificate } from '../protocol/certificate.js';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { command, encodeCommand, decodeCommand, formatSw, type ApduTransport } from '../apdu/index.js';
import { runBackup } from '../flow/backup-runner.js';
import { PcscCardSource } from '../flow/card-source.js';
import { saveJournal } from '../flow/journal.js';
import { stepLabel, stepLabels, verifyJournal } from '../protocol/backup.js';
import { newJournal, type BackupJournal } from '../protocol/backup-model.js';
import { TwincardCard } from '../protocol/card.js';
import { personalize } from '../protocol/factory.js';
import type { KeyPair } from '../protocol/keys.js';
import type { TrustedRoot } from '../protocol/roots.js';
import type { PcscService } from '../readers/index.js';
import { ApduLedger, sumExchanges, type ApduTotals, type ExchangeRecord } from './apdu-ledger.js';

/** The loopback applet of the fixture (not part of the protocol): AID and its "send N bytes" command. */
const LOOPBACK_AID = Uint8Array.from([0xf0, 0x74, 0x77, 0x69, 0x6e, 0x63, 0x61, 0x72, 0x64, 0xfe]);
const LOOPBACK_INS_SEND_N = 0x02;

export { stepLabels };

export interface StepMeasurement extends ApduTotals {
  readonly step: string;
  /** Wall time of the step (see the module comment), ms. */
  readonly ms: number;
  /**
   * Where the step's time went, ms (they add up to `ms`): finding and connecting to the card (until
   * the first APDU), the APDUs themselves (`transmitMs`), the host between APDUs (parsing, checking
   * certificates and signatures, the journal checkpoints inside a step: the claim, each blob), after the last APDU until the step is
   * done (its answer checked, e.g. a prepare signature, and the journal saved with fsync), and releasing
   * the card (disconnect with reset).
   */
  readonly phases: {
    readonly connectMs: number;
    readonly hostBetweenApdusMs: number;
    readonly afterApdusMs: number;
    readonly releaseMs: number;
  };
  /** Cards offered for the step and refused (not the card wanted): 0 on a well-ordered bench. */
  readonly refused: number;
}

export interface BackupMeasurement {
  readonly backupCount: 1 | 2;
  /** Readers: the primary's first. */
  readonly readers: readonly string[];
  /** Wall time from the first step's request to the last card released, ms. */
  readonly wallMs: number;
  /** Host CPU (this process, all threads) during the backup, ms. */
  readonly cpu: { readonly userMs: number; readonly systemMs: number };
  /**
   * The finished journal (public data: certificates, public keys, signatures, encrypted blobs), for
   * {@link hostCryptoCpuMs}. Not for printing: the blobs are key material, if encrypted.
   */
  readonly journal: BackupJournal;
  readonly totals: ApduTotals;
  readonly steps: readonly StepMeasurement[];
  /** Every wire APDU (sizes and headers only), for the transport baseline. */
  readonly exchanges: readonly ExchangeRecord[];
}

export interface MeasureBackupOptions {
  readonly service: PcscService;
  /** Exact reader names: the primary's, then one per backup card (2 or 3 readers). */
  readonly readers: readonly string[];
  readonly pin: Uint8Array;
  readonly roots: readonly TrustedRoot[];
  /** Folder for the journal (a fresh file per backup, removed afterwards). */
  readonly journalDir: string;
  /** Per card wait, ms (bench mode never waits for a person; this only bounds a stuck reader). */
  readonly waitMs?: number;
}

/** A backup failed; `step` says where, `exchanges` has what was counted until then. */
export class BenchBackupError extends Error {
  override readonly name = 'BenchBackupError';
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly exchanges: readonly ExchangeRecord[],
  ) {
    super(`${step}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`);
  }
}

/**
 * Runs one full backup from the card in `readers[0]` (a WALLET card with access code `pin`) to the
 * blank cards in the other readers, and measures it.
 * @throws BenchBackupError naming the step that failed (with the exchanges so far); RangeError for
 *   a wrong number of readers.
 */
export async function measureBackup(options: MeasureBackupOptions): Promise<BackupMeasurement> {
  const { readers } = options;
  if (readers.length !== 2 && readers.length !== 3) throw new RangeError(`a backup bench needs 2 or 3 readers, got ${readers.length}`);
  const backupCount = (readers.length - 1) as 1 | 2;
  const ledger = new ApduLedger();
  const journalPath = join(options.journalDir, `journal-${randomBytes(6).toString('hex')}.json`);
  await saveJournal(journalPath, newJournal(backupCount)); // as `twincard backup` does before the first card
  // Offered backup cards first, the order a v2 backup takes them: no card is read for a step it cannot serve.
  const source = new PcscCardSource(options.service, [...readers.slice(1), ...readers.slice(0, 1)], {
    mode: 'bench',
    waitMs: options.waitMs ?? 10_000,
    wrap: (card, reader): ApduTransport => ledger.wrap(card, reader),
  });

  interface OpenStep {
    label: string;
    started: number;
    firstExchange: number;
    refused: number;
    done?: number;
  }
  const closed: { label: string; started: number; done: number; ended: number; refused: number }[] = [];
  let open: OpenStep | undefined;
  const closeStep = (now: number) => {
    if (open === undefined) return;
    closed.push({ label: open.label, started: open.started, done: open.done ?? now, ended: now, refused: open.refused });
    open = undefined;
  };

  let final: BackupJournal;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    final = await runBackup(newJournal(backupCount), {
      source,
      journalPath,
      roots: options.roots,
      pin: options.pin,
      onEvent: (event) => {
        const now = performance.now();
        switch (event.type) {
          case 'need-card': {
            if (event.again && open !== undefined) return; // the same step, asked again
            closeStep(now);
            const label = stepLabel(event.step);
            ledger.step = label;
            open = { label, started: now, firstExchange: ledger.exchanges.length, refused: 0 };
            return;
          }
          case 'card-refused':
            if (open !== undefined) open.refused++;
            return;
          case 'step-done':
            if (open !== undefined) open.done = now;
            // The runner knows which backup card it really was (imports are taken in any order).
            if (open !== undefined && open.label !== event.step) {
              ledger.relabel(open.firstExchange, event.step);
              open.label = event.step;
              ledger.step = event.step;
            }
            return;
          default:
            return;
        }
      },
    });
  } catch (error) {
    throw new BenchBackupError(open?.label ?? 'setup', error, ledger.exchanges);
  } finally {
    await source.close();
    await rm(journalPath, { force: true });
  }
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  closeStep(t1);

  const exchanges = ledger.exchanges;
  const steps = closed.map(({ label, started, done, ended, refused }): StepMeasurement => {
    const own = exchanges.filter((e) => e.step === label);
    const totals = sumExchanges(own);
    const first = own[0];
    const last = own[own.length - 1];
    const connectMs = first === undefined ? done - started : first.startedAt - started;
    const afterApdusMs = last === undefined ? 0 : done - (last.startedAt + last.ms);
    const span = first === undefined || last === undefined ? 0 : last.startedAt + last.ms - first.startedAt;
    return {
      step: label,
      ms: ended - started,
      refused,
      ...totals,
      phases: { connectMs, hostBetweenApdusMs: span - totals.transmitMs, afterApdusMs, releaseMs: ended - done },
    };
  });
  return {
    backupCount,
    readers: [...readers],
    wallMs: t1 - t0,
    cpu: { userMs: cpu.user / 1000, systemMs: cpu.system / 1000 },
    journal: final,
    totals: sumExchanges(exchanges),
    steps,
    exchanges,
  };
}

/**
 * Host CPU of a backup's own cryptography, ms: the certificate, prepare and seal signature verifications
 * the host made during the backup (per backup card: its certificate, its prepare signature, the seal
 * of its blob; and the primary's certificate), made again on the same inputs by
 * verifying the finished journal (verifyJournal checks exactly those). Run it outside any timed span.
 * @throws JournalError if the journal does not verify (it did during the backup, so: a bug)
 */
export function hostCryptoCpuMs(journal: BackupJournal, roots: readonly TrustedRoot[]): number {
  const before = process.cpuUsage();
  verifyJournal(journal, roots);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export interface PrepareOptions {
  readonly service: PcscService;
  /** The primary's reader first. */
  readonly readers: readonly string[];
  /** One card id per reader (8 bytes each, distinct). */
  readonly cardIds: readonly Uint8Array[];
  /** Makes the card in `reader` factory-fresh (the simulator's wipe). */
  readonly wipe: (reader: string) => Promise<void>;
  readonly manufacturer: KeyPair;
  readonly pin: Uint8Array;
  readonly waitMs?: number;
}

/**
 * Fresh cards for one backup: every card wiped and personalized, a wallet created on the primary.
 * @returns the wallet public key
 */
export async function prepareBackupCards(options: PrepareOptions): Promise<Uint8Array> {
  const { service, readers, cardIds } = options;
  if (cardIds.length !== readers.length) throw new RangeError('prepareBackupCards: one card id per reader');
  let walletPublicKey: Uint8Array | undefined;
  for (const [i, reader] of readers.entries()) {
    await options.wipe(reader);
    await service.waitForCard(reader, { timeoutMs: options.waitMs ?? 10_000 });
    const pcsc = await service.connect(reader, { share: 'exclusive', protocol: 'any' });
    try {
      const card = new TwincardCard(pcsc);
      const perso = await personalize(card, cardIds[i]!, options.manufacturer);
      if (i === 0) {
        // The certificate was just made here under the bench's own manufacturer key: trusted as is.
        await card.openSession(parseCertificate(perso.certificate));
        walletPublicKey = await card.createWallet(options.pin);
      }
    } finally {
      await pcsc.disconnect('reset').catch(() => undefined);
    }
  }
  return walletPublicKey!;
}

export interface TransportBaseline {
  /** APDUs replayed (the backup's wire APDUs, one for one). */
  readonly apdus: number;
  readonly bytesOut: number;
  readonly bytesIn: number;
  /** Time inside transmit(), summed over the replayed APDUs, ms. */
  readonly transmitMs: number;
  /** The same, per step of the backup (the step each replayed APDU belonged to), ms. */
  readonly transmitMsByStep: Readonly<Record<string, number>>;
}

/**
 * The transport-only cost of a backup's APDUs: each wire APDU the backup exchanged is sent again, to
 * the same reader, to the fixture's loopback applet, with the same command length and the same
 * response length, and the time inside transmit() is summed. The loopback's "send N bytes" command
 * (INS 02, P1P2 = N) is used rather than its echo (INS 01) because an echo answers as many bytes as
 * it received, and a backup's APDUs mostly do not (a 5-byte READ answers up to 258 bytes; a 260-byte
 * chained BACKUP_IMPORT block answers 2). The loopback does no work but copying, so this is pcsclite + pcscd + vpcd
 * + the card's APDU loop, and the backup's own transmit time over it is the card's compute.
 * Untimed around it: connecting, and selecting the loopback applet once per reader.
 * @throws RangeError for an exchange that cannot be reshaped (not a short APDU; a backup uses short
 *   APDUs only); Error when the loopback answers anything but the expected length and 9000 (the
 *   baseline would not have measured the same bytes).
 */
export async function replayOnLoopback(service: PcscService, exchanges: readonly ExchangeRecord[]): Promise<TransportBaseline> {
  const readers = [...new Set(exchanges.map((e) => e.reader))];
  const cards = new Map<string, ApduTransport & { disconnect(d: 'reset'): Promise<void> }>();
  try {
    for (const reader of readers) {
      const card = await service.connect(reader, { share: 'exclusive', protocol: 'any' });
      cards.set(reader, card);
      const selected = await card.transmit(encodeCommand(command(0x00, 0xa4, 0x04, 0x00, LOOPBACK_AID, 256), 'short'));
      if (swOf(selected) !== 0x9000)
        throw new Error(`${reader}: the loopback applet is not on this card (SELECT answered ${formatSw(swOf(selected))})`);
    }
    const shaped = exchanges.map((e) => ({
      reader: e.reader,
      step: e.step,
      apdu: loopbackApdu(e.commandBytes, e.responseBytes),
      expected: e.responseBytes,
    }));
    const transmitMsByStep: Record<string, number> = {};
    let transmitMs = 0;
    let bytesOut = 0;
    let bytesIn = 0;
    for (const { reader, step, apdu, expected } of shaped) {
      const card = cards.get(reader)!;
      const t = performance.now();
      const response = await card.transmit(apdu);
      const dt = performance.now() - t;
      transmitMs += dt;
      transmitMsByStep[step] = (transmitMsByStep[step] ?? 0) + dt;
      if (swOf(response) !== 0x9000 || response.length !== expected) {
        throw new Error(
          `${reader}: loopback answered ${response.length} bytes SW ${formatSw(swOf(response))}, expected ${expected} bytes 9000`,
        );
      }
      bytesOut += apdu.length;
      bytesIn += response.length;
    }
    return { apdus: shaped.length, bytesOut, bytesIn, transmitMs, transmitMsByStep };
  } finally {
    for (const card of cards.values()) await card.disconnect('reset').catch(() => undefined);
  }
}

/**
 * A loopback command of exactly `commandBytes` bytes whose answer is exactly `responseBytes` bytes
 * (data + 9000): `80 02 <N> [Lc data] [Le]`.
 */
export function loopbackApdu(commandBytes: number, responseBytes: number): Uint8Array {
  const n = responseBytes - 2;
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new RangeError(`loopback: cannot answer ${responseBytes} bytes with a short APDU`);
  // Shapes of a short APDU: 4 (case 1), 5 (case 2: Le), 5 + Lc (case 3: data), 6 + Lc (case 4: data, Le).
  // Data coming back needs Le (00 for 256); case 1 asks for nothing.
  let dataLength: number;
  let withLe: boolean;
  if (commandBytes === 4) [dataLength, withLe] = [0, false];
  else if (commandBytes === 5) [dataLength, withLe] = [0, true];
  else if (n === 0) [dataLength, withLe] = [commandBytes - 5, false];
  else [dataLength, withLe] = [commandBytes - 6, true];
  if (
    !Number.isInteger(commandBytes) ||
    commandBytes < 4 ||
    dataLength > 255 ||
    (commandBytes > 5 && dataLength < 1) ||
    (n > 0 && !withLe)
  ) {
    throw new RangeError(`loopback: no short APDU of ${commandBytes} bytes asks for ${n} response bytes`);
  }
  const apdu = new Uint8Array(commandBytes);
  apdu.set([0x80, LOOPBACK_INS_SEND_N, n >> 8, n & 0xff]);
  if (dataLength > 0) {
    apdu[4] = dataLength;
    apdu.set(randomBytes(dataLength), 5);
  }
  if (withLe) apdu[commandBytes - 1] = n & 0xff;
  decodeCommand(apdu); // a well-formed short APDU, or a bug here
  return apdu;
}

function swOf(response: Uint8Array): number {
  const n = response.length;
  return n >= 2 ? (response[n - 2]! << 8) | response[n - 1]! : -1;
}

/** A temporary folder for benchmark journals; the caller removes it with {@link removeJournalDir}. */
export function makeJournalDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'twincard-bench-'));
}

export async function removeJournalDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
