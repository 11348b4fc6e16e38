/**
 * Benchmark: how backup throughput scales with the number of reader groups running at once. For each K
 * (default 1, 2, 4) it runs `twincard bench`'s engine (src/bench/run-bench.ts) on K groups of three
 * virtual cards, R rounds of 1+2 backups, fresh cards every round (untimed), and reports throughput
 * (backups per second of backup phase) and its ratio to K = 1 measured in the same run, with the
 * per-backup wall time and host CPU.
 *
 * K = 4 needs 12 virtual cards from --first on; they are WIPED.
 *
 *   node dist/bench/scaling.js [--ks 1,2,4] [--rounds 10] [--warmup 1] [--first 0] [--backups 2] [--json]
 *
 * Before each K, --warmup rounds on the same groups are run and discarded (the card JVMs' JIT).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ms, table } from '../src/bench/render.js';
import { runBench, type BenchOptions, type BenchReport } from '../src/bench/run-bench.js';
import { ratio } from '../src/bench/stats.js';
import { packageRoot, testManufacturerKeyPath } from '../src/cli/paths.js';
import { simControl, simReaderName } from '../src/sim/index.js';
import { keyPairFromPem } from '../src/protocol/keys.js';
import { trustedRoots } from '../src/protocol/roots.js';
import { PcscService } from '../src/readers/index.js';
import { machineJiffies, processCpuMs, simPid, threadsCpuMs } from './proc.js';
import { availableParallelism, cpus } from 'node:os';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const ks = option('--ks', '1,2,4').split(',').map(Number);
const rounds = Number(option('--rounds', '10'));
const warmup = Number(option('--warmup', '1'));
const first = Number(option('--first', '0'));
const backupCount = Number(option('--backups', '2'));
const json = args.includes('--json');
if (ks.some((k) => !Number.isInteger(k) || k < 1) || ks[0] !== 1)
  throw new Error('--ks: positive integers, the first one 1 (the baseline)');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds: a positive integer');
if (!Number.isInteger(warmup) || warmup < 0) throw new Error('--warmup: a whole number of rounds');
if (backupCount !== 1 && backupCount !== 2) throw new Error('--backups: 1 or 2');
const size = backupCount + 1;

const runDir = process.env['TWINCARD_RUN_DIR'] || join(packageRoot(), '.run');
const manufacturer = keyPairFromPem(readFileSync(testManufacturerKeyPath(), 'utf8'));
const pin = new TextEncoder().encode('135790');
const say = (line: string) => process.stderr.write(`${line}\n`);
const cardOfReader = new Map<string, number>();

const reports: BenchReport[] = [];
/** Machine CPU busy share during the timed backups of each K (all processes: node, pcscd, the card JVMs, anyone else). */
const machineBusy: number[] = [];
/** CPU during the timed backups of each K, ms per backup: this process, pcscd, the K groups' card JVMs. */
const cpuShares: { node: number; pcscd: number; cards: number }[] = [];
const pcscdPid = simPid(runDir, 'pcscd.pid');
const service = PcscService.open();
try {
  await service.waitForReaders({ timeoutMs: 2000 });
  for (const k of ks) {
    const groups = Array.from({ length: k }, (_, g) =>
      Array.from({ length: size }, (_, i) => {
        const card = first + g * size + i;
        const reader = simReaderName(card);
        cardOfReader.set(reader, card);
        return reader;
      }),
    );
    say(`K = ${k}: ${groups.map((g) => g.join(' | ')).join('; ')}`);
    const options: Omit<BenchOptions, 'rounds'> = {
      service,
      groups,
      wipe: async (reader) => {
        await simControl(runDir, cardOfReader.get(reader)!, 'wipe');
      },
      manufacturer,
      roots: trustedRoots({ trustTestRoot: true }),
      pin,
      onProgress: (event) => {
        if (event.type === 'failure')
          say(`  FAILED round ${event.failure.round + 1} group ${event.failure.group + 1}: ${event.failure.error}`);
      },
    };
    if (warmup > 0) await runBench({ ...options, rounds: warmup });
    let busy = 0;
    let total = 0;
    let mark = machineJiffies();
    const cardPids = groups.flat().map((reader) => simPid(runDir, `card-${cardOfReader.get(reader)!}.pid`));
    const sample = () => ({
      node: process.cpuUsage(),
      pcscd: processCpuMs(pcscdPid),
      cards: cardPids.reduce((a, pid) => a + threadsCpuMs(pid), 0),
    });
    let side = sample();
    const used = { node: 0, pcscd: 0, cards: 0 };
    const report = await runBench({
      ...options,
      rounds,
      onProgress: (event) => {
        options.onProgress?.(event);
        if (event.type === 'backups-start') {
          mark = machineJiffies();
          side = sample();
        }
        if (event.type === 'round-done') {
          const now = machineJiffies();
          const after = sample();
          busy += now.busy - mark.busy;
          total += now.total - mark.total;
          const node = process.cpuUsage(side.node);
          used.node += (node.user + node.system) / 1000;
          used.pcscd += after.pcscd - side.pcscd;
          used.cards += after.cards - side.cards;
        }
      },
    });
    machineBusy.push(total > 0 ? busy / total : Number.NaN);
    const n = Math.max(1, report.summary.succeeded);
    cpuShares.push({ node: used.node / n, pcscd: used.pcscd / n, cards: used.cards / n });
    reports.push(report);
    say(`  ${report.summary.throughput.toFixed(2)} backups/s, ${report.summary.succeeded}/${report.summary.attempted} ok`);
  }
} finally {
  service.close();
}

const base = reports[0]!.summary.throughput;
const rows = reports.map((r, i) => ({
  k: r.pairs,
  machineCpuBusy: machineBusy[i]!,
  /** CPU per successful backup during the timed backups, ms: twincard (this process), pcscd (10 ms ticks), the card JVMs. */
  cpuPerBackupMs: cpuShares[i]!,
  backups: r.summary.succeeded,
  failed: r.summary.failed,
  throughput: r.summary.throughput,
  ratioToK1: ratio(r.summary.throughput, base),
  wallMs: r.summary.wallMs,
  hostCpuMsPerBackup: r.summary.hostCpuMs,
  apdusPerBackup: r.summary.apdus?.median ?? null,
}));
say('');
say(
  `scaling: 1+${backupCount} backups, ${rounds} rounds per K (after ${warmup} warm-up), fresh ` +
    `virtual cards each round; ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'})`,
);
for (const line of table([
  [
    'K',
    'backups',
    'failed',
    'backups/s',
    'x K=1',
    'wall median ms',
    'wall p95 ms',
    'CPU ms/backup: node',
    'pcscd',
    'cards',
    'machine busy',
  ],
  ...rows.map((r) => [
    String(r.k),
    String(r.backups),
    String(r.failed),
    r.throughput.toFixed(2),
    r.ratioToK1 === null ? '-' : `${r.ratioToK1.toFixed(2)}x`,
    r.wallMs === null ? '-' : ms(r.wallMs.median),
    r.wallMs === null ? '-' : ms(r.wallMs.p95),
    ms(r.cpuPerBackupMs.node),
    ms(r.cpuPerBackupMs.pcscd),
    ms(r.cpuPerBackupMs.cards),
    Number.isNaN(r.machineCpuBusy) ? '-' : `${(100 * r.machineCpuBusy).toFixed(0)}%`,
  ]),
]))
  say(`  ${line}`);
if (json) {
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'scaling',
        date: new Date().toISOString(),
        cpus: availableParallelism(),
        backupCount,
        rounds,
        warmup,
        results: rows,
        reports,
      },
      null,
      2,
    )}\n`,
  );
}
process.exitCode = reports.some((r) => r.failures.length > 0) ? 1 : 0;
