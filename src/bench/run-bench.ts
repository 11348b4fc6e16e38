/**
 * `twincard bench`: R rounds of full backups on K independent reader groups at once. Each round:
 * every group gets fresh cards (untimed, in parallel), then every group runs one backup, all
 * started together; the round's time is until the last of them finishes. So the measured backups
 * overlap each other only, never another group's card preparation, and throughput is
 * successful backups / the sum of the rounds' times.
 *
 * The groups share one PC/SC context (each connection gets its own card context in pcsclite) and
 * this process's CPU: per-backup host CPU is the round's CPU divided by the backups in it.
 * @module
 */
import type { KeyPair } from '../protocol/keys.js';
import type { TrustedRoot } from '../protocol/roots.js';
import type { PcscService } from '../readers/index.js';
import type { ApduTotals } from './apdu-ledger.js';
import {
  BenchBackupError,
  hostCryptoCpuMs,
  makeJournalDir,
  measureBackup,
  prepareBackupCards,
  removeJournalDir,
  stepLabels,
  type BackupMeasurement,
  type StepMeasurement,
} from './backup-measure.js';
import { summarize, type Summary } from './stats.js';

export interface BenchOptions {
  readonly service: PcscService;
  /** K groups of exact reader names, each the primary's reader then 1 or 2 backup cards' (all the same size). */
  readonly groups: readonly (readonly string[])[];
  readonly rounds: number;
  /** Makes the card in `reader` factory-fresh. Destroys whatever the card held. */
  readonly wipe: (reader: string) => Promise<void>;
  /** Signs the fresh cards' certificates (the TEST manufacturer for virtual cards). */
  readonly manufacturer: KeyPair;
  /** The roots the backups verify certificates against (must include `manufacturer`'s). */
  readonly roots: readonly TrustedRoot[];
  /** The access code set on the fresh wallets. */
  readonly pin: Uint8Array;
  /** How long to wait for a card that is not in its reader, ms (default 10 s). */
  readonly waitMs?: number;
  readonly onProgress?: (event: BenchProgress) => void;
}

export type BenchProgress =
  | { readonly type: 'round-start'; readonly round: number }
  /** The cards are ready; the round's timed backups start now (sent synchronously, just before the clock starts). */
  | { readonly type: 'backups-start'; readonly round: number }
  | { readonly type: 'backup-done'; readonly round: number; readonly group: number; readonly wallMs: number }
  | { readonly type: 'failure'; readonly failure: BenchFailure }
  /** The round's backups are over (sent right after the clock stopped). */
  | { readonly type: 'round-done'; readonly round: number; readonly ms: number };

export interface BenchFailure {
  readonly round: number;
  readonly group: number;
  /** `prepare` (fresh cards) or `backup`. */
  readonly phase: 'prepare' | 'backup';
  /** The backup step that failed (backup phase). */
  readonly step?: string;
  readonly error: string;
}

/** One measured backup of the bench (the exchanges left out: sizes per step are in `steps`). */
export interface BenchBackup {
  readonly round: number;
  readonly group: number;
  readonly wallMs: number;
  readonly hostCryptoCpuMs: number;
  readonly totals: ApduTotals;
  readonly steps: readonly StepMeasurement[];
}

export interface StepSummary {
  readonly step: string;
  readonly ms: Summary;
  /** Wire APDUs of the step (the same in every backup unless a card was refused or lost). */
  readonly apdus: Summary;
  readonly bytesOut: Summary;
  readonly bytesIn: Summary;
  readonly transmitMs: Summary;
  /** The step's time outside its APDUs, by phase (see StepMeasurement.phases). */
  readonly connectMs: Summary;
  readonly hostBetweenApdusMs: Summary;
  readonly afterApdusMs: Summary;
  readonly releaseMs: Summary;
}

export interface BenchReport {
  readonly pairs: number;
  readonly rounds: number;
  readonly backupCount: 1 | 2;
  readonly groups: readonly (readonly string[])[];
  readonly backups: readonly BenchBackup[];
  readonly failures: readonly BenchFailure[];
  readonly summary: BenchSummary;
}

export interface BenchSummary {
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Sum of the rounds' backup phases, seconds (preparation excluded). */
  readonly backupSeconds: number;
  /** Successful backups per second of backup phase. */
  readonly throughput: number;
  /** Per backup; null when none succeeded. */
  readonly wallMs: Summary | null;
  readonly apdus: Summary | null;
  readonly commands: Summary | null;
  readonly chainBlocks: Summary | null;
  readonly getResponses: Summary | null;
  readonly bytesOut: Summary | null;
  readonly bytesIn: Summary | null;
  readonly transmitMs: Summary | null;
  /** Host CPU per backup (each round's process CPU / its backups), ms. */
  readonly hostCpuMs: Summary | null;
  /** Host CPU of the backup's own crypto, per backup, ms. */
  readonly hostCryptoCpuMs: Summary | null;
  readonly steps: readonly StepSummary[];
}

/**
 * Runs the bench.
 * @throws RangeError for no groups, groups of different or wrong sizes, a reader in two groups, or
 *   rounds < 1. Card and backup failures do not throw: they are counted in the report.
 */
export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { groups, rounds } = options;
  if (groups.length === 0) throw new RangeError('bench: no reader groups');
  const size = groups[0]!.length;
  if (size !== 2 && size !== 3) throw new RangeError(`bench: a group is the primary's reader and 1 or 2 backup readers, got ${size}`);
  if (groups.some((g) => g.length !== size)) throw new RangeError('bench: every group needs the same number of readers');
  const all = groups.flat();
  if (new Set(all).size !== all.length) throw new RangeError('bench: a reader appears twice');
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`bench: rounds must be a positive integer, got ${rounds}`);
  const backupCount = (size - 1) as 1 | 2;
  const emit = (event: BenchProgress) => options.onProgress?.(event);

  const backups: BenchBackup[] = [];
  const failures: BenchFailure[] = [];
  const cpuPerBackup: number[] = [];
  let backupMs = 0;
  const journalDir = await makeJournalDir();
  const fail = (failure: BenchFailure) => {
    failures.push(failure);
    emit({ type: 'failure', failure });
  };
  try {
    for (let round = 0; round < rounds; round++) {
      emit({ type: 'round-start', round });
      const ready = await Promise.all(
        groups.map(async (readers, group) => {
          try {
            await prepareBackupCards({
              service: options.service,
              readers,
              cardIds: readers.map((_, role) => benchCardId(group, round, role)),
              wipe: options.wipe,
              manufacturer: options.manufacturer,
              pin: options.pin,
              ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
            });
            return true;
          } catch (error) {
            fail({ round, group, phase: 'prepare', error: describe(error) });
            return false;
          }
        }),
      );
      emit({ type: 'backups-start', round });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const measured = await Promise.all(
        groups.map(async (readers, group): Promise<BackupMeasurement | undefined> => {
          if (!ready[group]) return undefined;
          try {
            const m = await measureBackup({
              service: options.service,
              readers,
              pin: options.pin,
              roots: options.roots,
              journalDir,
              ...(options.waitMs !== undefined && { waitMs: options.waitMs }),
            });
            emit({ type: 'backup-done', round, group, wallMs: m.wallMs });
            return m;
          } catch (error) {
            const step = error instanceof BenchBackupError ? error.step : undefined;
            fail({
              round,
              group,
              phase: 'backup',
              ...(step !== undefined && { step }),
              error: describe(error instanceof BenchBackupError ? error.cause : error),
            });
            return undefined;
          }
        }),
      );
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const started = ready.filter(Boolean).length;
      if (started > 0) {
        backupMs += ms;
        const perBackup = (cpu.user + cpu.system) / 1000 / started;
        for (const m of measured) if (m !== undefined) cpuPerBackup.push(perBackup);
      }
      emit({ type: 'round-done', round, ms });
      measured.forEach((m, group) => {
        if (m === undefined) return;
        // After the round's timing: re-verifying in the middle would have slowed the other groups down.
        const crypto = hostCryptoCpuMs(m.journal, options.roots);
        backups.push({ round, group, wallMs: m.wallMs, hostCryptoCpuMs: crypto, totals: m.totals, steps: m.steps });
      });
    }
  } finally {
    await removeJournalDir(journalDir);
  }
  return {
    pairs: groups.length,
    rounds,
    backupCount,
    groups: groups.map((g) => [...g]),
    backups,
    failures,
    summary: summarizeBench(backups, failures.length, groups.length * rounds, backupMs, cpuPerBackup, backupCount),
  };
}

/** One step's figures over several backups: its time, its phases and its wire counts. */
export function summarizeStep(step: string, found: readonly StepMeasurement[]): StepSummary {
  return {
    step,
    ms: summarize(found.map((s) => s.ms)),
    apdus: summarize(found.map((s) => s.apdus)),
    bytesOut: summarize(found.map((s) => s.bytesOut)),
    bytesIn: summarize(found.map((s) => s.bytesIn)),
    transmitMs: summarize(found.map((s) => s.transmitMs)),
    connectMs: summarize(found.map((s) => s.phases.connectMs)),
    hostBetweenApdusMs: summarize(found.map((s) => s.phases.hostBetweenApdusMs)),
    afterApdusMs: summarize(found.map((s) => s.phases.afterApdusMs)),
    releaseMs: summarize(found.map((s) => s.phases.releaseMs)),
  };
}

function summarizeBench(
  backups: readonly BenchBackup[],
  failed: number,
  attempted: number,
  backupMs: number,
  cpuPerBackup: readonly number[],
  backupCount: 1 | 2,
): BenchSummary {
  const of = (pick: (b: BenchBackup) => number) => (backups.length === 0 ? null : summarize(backups.map(pick)));
  const steps = stepLabels(backupCount).flatMap((step): StepSummary[] => {
    const found = backups.map((b) => b.steps.find((s) => s.step === step)).filter((s): s is StepMeasurement => s !== undefined);
    if (found.length === 0) return [];
    return [summarizeStep(step, found)];
  });
  const seconds = backupMs / 1000;
  return {
    attempted,
    succeeded: backups.length,
    failed,
    backupSeconds: seconds,
    throughput: seconds > 0 ? backups.length / seconds : 0,
    wallMs: of((b) => b.wallMs),
    apdus: of((b) => b.totals.apdus),
    commands: of((b) => b.totals.commands),
    chainBlocks: of((b) => b.totals.chainBlocks),
    getResponses: of((b) => b.totals.getResponses),
    bytesOut: of((b) => b.totals.bytesOut),
    bytesIn: of((b) => b.totals.bytesIn),
    transmitMs: of((b) => b.totals.transmitMs),
    hostCpuMs: cpuPerBackup.length === 0 ? null : summarize(cpuPerBackup),
    hostCryptoCpuMs: of((b) => b.hostCryptoCpuMs),
    steps,
  };
}

/** Card ids of a bench: ASCII "BN" then group, round (2 bytes), role (0 = primary), and 00 00. */
export function benchCardId(group: number, round: number, role: number): Uint8Array {
  return Uint8Array.from([0x42, 0x4e, group & 0xff, (round >> 8) & 0xff, round & 0xff, role & 0xff, 0x00, 0x00]);
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
