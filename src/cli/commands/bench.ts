/**
 * `twincard bench --pairs K --rounds R --virtual [--readers a,b,c ...] [--json]`: R full backups on K
 * reader groups in parallel, no prompts, fresh virtual cards every round (the simulator's wipe, then
 * personalization with the TEST manufacturer key and a new wallet: untimed). Reports per-step timings,
 * APDU counts and bytes, failures and throughput (src/bench/run-bench.ts).
 *
 * It destroys what the cards hold, so it runs only on cards of the simulator (`twincard sim`) and only
 * with `--virtual`, which says so.
 * @module
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { renderBench } from '../../bench/render.js';
import { runBench } from '../../bench/run-bench.js';
import { zeroize } from '../../protocol/crypto.js';
import { keyPairFromPem } from '../../protocol/keys.js';
import { trustedRoots } from '../../protocol/roots.js';
import { PcscService, resolveReader } from '../../readers/index.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { testManufacturerKeyPath } from '../paths.js';
import { simCardForReader, simControl, simStatus } from '../../sim/index.js';
import { runDir } from './sim.js';

interface BenchOptions extends GlobalOptions {
  readonly pairs: number | undefined;
  readonly rounds: number;
  readonly backups: number;
  readonly readers: readonly string[] | undefined;
  readonly virtual: boolean;
}

/** The access code of the bench's throw-away wallets (they live for one round). */
const BENCH_PIN = '135790';

export const benchCommand: CommandModule<GlobalOptions, BenchOptions> = {
  command: 'bench',
  describe: 'Run full backups on K reader groups in parallel on virtual cards (wiped every round): timings, APDUs, throughput',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('pairs', {
        type: 'number',
        describe: 'K: how many reader groups run backups at the same time (default: as many as --readers groups, else 1)',
      })
      .option('rounds', { type: 'number', default: 10, describe: 'R: backups per group' })
      .option('backups', { type: 'number', default: 2, describe: 'backup cards per backup: 1 or 2 (a group is 1 + this many readers)' })
      .option('readers', {
        type: 'string',
        array: true,
        describe:
          'one group: its readers comma-separated, the primary first (names, indexes or fragments); repeat per group. ' +
          "Default: the sim's cards in order",
      })
      .option('virtual', {
        type: 'boolean',
        default: false,
        describe: "required: the cards are the simulator's; wipe them every round and personalize them with the TEST manufacturer key",
      })
      .example('$0 bench --virtual --pairs 2 --rounds 20', 'two groups of three sim cards, 20 rounds')
      .example('$0 bench --virtual --readers "PCD 00 00,PCD 00 01,PCD 2 00 00" --rounds 5 --json', 'one group named'),
  handler: async (argv: ArgumentsCamelCase<BenchOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    if (!argv.virtual) {
      throw new UsageError(
        "bench wipes and re-personalizes every card it uses each round: pass --virtual to say they are the simulator's cards",
      );
    }
    const named = argv.readers !== undefined && argv.readers.length > 0;
    const pairs = positiveInteger('--pairs', argv.pairs ?? (named ? argv.readers.length : 1), 64);
    const rounds = positiveInteger('--rounds', argv.rounds, 100_000);
    if (argv.reader !== undefined)
      throw new UsageError('bench takes reader groups: --readers PRIMARY,BACKUP1,BACKUP2 (repeat per group), not --reader');
    if (!(argv.wait > 0)) throw new UsageError(`--wait: seconds, more than 0, not ${argv.wait}`);
    if (argv.backups !== 1 && argv.backups !== 2) throw new UsageError(`--backups: 1 or 2, not ${argv.backups}`);
    if (pairs > 1 && process.env['UV_THREADPOOL_SIZE'] === undefined) {
      // Every pcsclite transmit holds a libuv pool thread while the card works, and the pool (4 threads, sized
      // once, before this code runs) was measured to cap K = 4 (1.27x K = 1; 1.48x with 16 threads): run again
      // in a child that has the pool it needs.
      // The child printed everything; its exit code is this command's. Nothing is open here yet (no PC/SC).
      process.exit(await rerunWithThreadPool(Math.min(128, Math.max(4, pairs * 4))));
    }
    const size = argv.backups + 1;
    const dir = runDir();

    const service = PcscService.open();
    const manufacturer = keyPairFromPem(readFileSync(testManufacturerKeyPath(), 'utf8'), testManufacturerKeyPath());
    const pin = new TextEncoder().encode(BENCH_PIN);
    try {
      const available = (await service.waitForReaders({ timeoutMs: 2000 })).map((r) => r.name);
      const groups = named ? namedGroups(argv.readers, available, size, pairs) : await simGroups(dir, pairs, size);
      const cardOf = new Map<string, number>();
      for (const reader of groups.flat()) {
        const k = simCardForReader(dir, reader);
        if (k === undefined) {
          throw new UsageError(
            `bench: ${JSON.stringify(reader)} is not a card of the simulator in ${dir}: bench only runs on virtual cards (it wipes them)`,
          );
        }
        cardOf.set(reader, k);
      }
      const report = await runBench({
        service,
        groups,
        rounds,
        wipe: async (reader) => {
          await simControl(dir, cardOf.get(reader)!, 'wipe');
        },
        manufacturer,
        roots: trustedRoots({ trustTestRoot: true }),
        pin,
        waitMs: argv.wait * 1000,
        onProgress: (event) => {
          if (event.type === 'round-done') out.info(`round ${event.round + 1}/${rounds}: ${event.ms.toFixed(1)} ms`);
          if (event.type === 'failure') {
            const f = event.failure;
            out.info(`  FAILED group ${f.group + 1} ${f.phase}${f.step !== undefined ? ` at ${f.step}` : ''}: ${f.error}`);
          }
        },
      });
      for (const line of renderBench(report)) out.print(line);
      out.result(report);
      if (report.failures.length > 0) {
        throw new CommandFailure(`bench: ${report.failures.length} of ${report.summary.attempted} backups failed`, ExitCode.UNEXPECTED);
      }
    } finally {
      zeroize(manufacturer.privateKey);
      pin.fill(0);
      service.close();
    }
  },
};

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new UsageError(`${name}: an integer 1..${max}, not ${value}`);
  return value;
}

/** `--readers a,b,c` per group, each resolved like `--reader`. */
function namedGroups(specs: readonly string[], available: readonly string[], size: number, pairs: number): string[][] {
  const groups = specs.map((spec) => {
    const parts = spec.split(',').map((s) => s.trim());
    if (parts.length !== size)
      throw new UsageError(`--readers ${JSON.stringify(spec)}: a group is ${size} readers (the primary's first), comma-separated`);
    return parts.map((p) => resolveReader(available, p));
  });
  if (groups.length !== pairs) throw new UsageError(`--pairs ${pairs} but ${groups.length} --readers group(s) given`);
  const all = groups.flat();
  const twice = all.find((r, i) => all.indexOf(r) !== i);
  if (twice !== undefined) throw new UsageError(`--readers: ${JSON.stringify(twice)} is in two places`);
  return groups;
}

/** The first pairs × size running cards of the simulator, in index order, grouped. */
async function simGroups(dir: string, pairs: number, size: number): Promise<string[][]> {
  const status = await simStatus(dir);
  if (!status.pcscd.running)
    throw new CommandFailure(`bench: the simulator is not running (${dir}): twincard sim up`, ExitCode.PCSC_UNAVAILABLE);
  const readers = status.cards.filter((c) => c.running && c.present === true).map((c) => c.reader);
  const needed = pairs * size;
  if (readers.length < needed) {
    throw new UsageError(
      `bench: --pairs ${pairs} needs ${needed} virtual cards, the simulator has ${readers.length} ready: twincard sim up --cards ${needed}`,
    );
  }
  return Array.from({ length: pairs }, (_, g) => readers.slice(g * size, (g + 1) * size));
}

/** This very command again, in a child process with UV_THREADPOOL_SIZE set; resolves to its exit code. */
function rerunWithThreadPool(threads: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
      stdio: 'inherit',
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.once('SIGINT', forward);
    process.once('SIGTERM', forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
