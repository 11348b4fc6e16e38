/**
 * Benchmark: full card-to-card backups through pcscd between virtual cards, 1+1 and 1+2, R rounds, fresh
 * cards every round (wipe + personalize + create wallet: untimed). Per backup: wall time, per step, wire
 * APDUs and bytes each way (chain blocks and GET RESPONSEs counted), host CPU (this process) split into
 * the host's crypto and the rest, and the CPU the card JVMs (from /proc schedstat, ns) and pcscd (from
 * /proc stat, 10 ms ticks) used.
 *
 * Baselines from the same run, as ratios:
 *   transport  every backup's wire APDUs sent again to the loopback applet on the same readers, same
 *              command and response sizes: pure transport (pcsclite + pcscd + vpcd + the card's APDU
 *              loop). "in-APDU time / transport" is how much longer the card takes than a card that
 *              computes nothing; "wall / transport" adds the host's own work (connect, checks, journal).
 *              The same two ratios per step, against that step's own APDUs.
 *   1+1        the 1+2 backup relative to the 1+1 backup (rounds alternate 1+1 and 1+2).
 *
 * Needs the virtual cards (`scripts/sim.sh up`); uses three of them, which it WIPES.
 *
 *   node dist/bench/backup.js [--rounds 20] [--warmup 2] [--cards 0,1,2] [--json]
 *
 * The --warmup rounds before the measured ones are run the same way and discarded: the card JVMs compile
 * the applet's crypto during the first backups (cold, a 1+2 backup took twice as long).
 *
 * The table goes to stderr; --json prints one JSON document on stdout.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  hostCryptoCpuMs,
  makeJournalDir,
  measureBackup,
  prepareBackupCards,
  removeJournalDir,
  replayOnLoopback,
  stepLabels,
  type BackupMeasurement,
  type TransportBaseline,
} from '../src/bench/backup-measure.js';
import { ms, stepTable, table } from '../src/bench/render.js';
import { benchCardId, summarizeStep } from '../src/bench/run-bench.js';
import { ratio, summarize, type Summary } from '../src/bench/stats.js';
import { packageRoot, testManufacturerKeyPath } from '../src/cli/paths.js';
import { simControl, simReaderName } from '../src/sim/index.js';
import { keyPairFromPem } from '../src/protocol/keys.js';
import { trustedRoots } from '../src/protocol/roots.js';
import { PcscService } from '../src/readers/index.js';
import { processCpuMs, simPid, threadsCpuMs } from './proc.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const rounds = Number(option('--rounds', '20'));
// Untimed first rounds: the card JVMs' JIT compiles the applet's crypto during the first backups.
const warmup = Number(option('--warmup', '2'));
const cards = option('--cards', '0,1,2').split(',').map(Number);
const json = args.includes('--json');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: a positive integer, not ${option('--rounds', '')}`);
if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup: a whole number of rounds, not ${option('--warmup', '')}`);
if (cards.length !== 3 || cards.some((k) => !Number.isInteger(k) || k < 0)) throw new Error('--cards: three card indexes, e.g. 0,1,2');

const runDir = process.env['TWINCARD_RUN_DIR'] || join(packageRoot(), '.run');
const readers = cards.map(simReaderName);
const readerCard = new Map(readers.map((r, i) => [r, cards[i]!]));
const manufacturer = keyPairFromPem(readFileSync(testManufacturerKeyPath(), 'utf8'));
const roots = trustedRoots({ trustTestRoot: true });
const pin = new TextEncoder().encode('135790');
const say = (line: string) => process.stderr.write(`${line}\n`);

const pidOf = (file: string) => simPid(runDir, file);
const cardPids = cards.map((k) => pidOf(`card-${k}.pid`));
const pcscdPid = pidOf('pcscd.pid');
const sideCpu = () => ({ cards: cardPids.reduce((a, p) => a + threadsCpuMs(p), 0), pcscd: processCpuMs(pcscdPid) });

interface Sample {
  readonly m: BackupMeasurement;
  readonly cryptoMs: number;
  readonly transport: TransportBaseline;
  readonly cardCpuMs: number;
  readonly pcscdCpuMs: number;
}
const samples: Record<'1+1' | '1+2', Sample[]> = { '1+1': [], '1+2': [] };

const service = PcscService.open();
const journalDir = await makeJournalDir();
try {
  await service.waitForReaders({ timeoutMs: 2000 });
  for (let round = -warmup; round < rounds; round++) {
    for (const kind of ['1+1', '1+2'] as const) {
      const group = kind === '1+1' ? readers.slice(0, 2) : readers;
      await prepareBackupCards({
        service,
        readers: group,
        cardIds: group.map((_, role) => benchCardId(kind === '1+1' ? 1 : 2, round + warmup, role)),
        wipe: async (reader) => {
          await simControl(runDir, readerCard.get(reader)!, 'wipe');
        },
        manufacturer,
        pin,
      });
      const side0 = sideCpu();
      const m = await measureBackup({ service, readers: group, pin, roots, journalDir });
      const side1 = sideCpu();
      const transport = await replayOnLoopback(service, m.exchanges);
      const cryptoMs = hostCryptoCpuMs(m.journal, roots);
      if (round >= 0)
        samples[kind].push({ m, cryptoMs, transport, cardCpuMs: side1.cards - side0.cards, pcscdCpuMs: side1.pcscd - side0.pcscd });
    }
    if (round < 0) {
      say(`warm-up round ${round + warmup + 1}/${warmup}`);
      continue;
    }
    say(`round ${round + 1}/${rounds}: 1+1 ${ms(samples['1+1'].at(-1)!.m.wallMs)} ms, 1+2 ${ms(samples['1+2'].at(-1)!.m.wallMs)} ms`);
  }
} finally {
  await removeJournalDir(journalDir);
  service.close();
}

const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);

function report(kind: '1+1' | '1+2') {
  const list = samples[kind];
  const of = (pick: (s: Sample) => number): Summary => summarize(list.map(pick));
  const hostCpu = of((s) => s.m.cpu.userMs + s.m.cpu.systemMs);
  const crypto = of((s) => s.cryptoMs);
  const wall = of((s) => s.m.wallMs);
  const inApdus = of((s) => s.m.totals.transmitMs);
  const transport = of((s) => s.transport.transmitMs);
  const labels = stepLabels(kind === '1+1' ? 1 : 2);
  const steps = labels.map((step) =>
    summarizeStep(
      step,
      list.map((s) => s.m.steps.find((x) => x.step === step)!),
    ),
  );
  /** Each step against its own APDUs on the loopback applet, in the same rounds (ratios of medians). */
  const stepsOverTransport = steps.map((step) => {
    const stepTransport = of((s) => s.transport.transmitMsByStep[step.step] ?? 0);
    return {
      step: step.step,
      transportMs: stepTransport,
      wallOverTransport: ratio(step.ms.median, stepTransport.median),
      inApduOverTransport: ratio(step.transmitMs.median, stepTransport.median),
    };
  });
  return {
    kind,
    rounds: list.length,
    wallMs: wall,
    steps,
    stepsOverTransport,
    apdus: of((s) => s.m.totals.apdus),
    commands: of((s) => s.m.totals.commands),
    chainBlocks: of((s) => s.m.totals.chainBlocks),
    getResponses: of((s) => s.m.totals.getResponses),
    bytesOut: of((s) => s.m.totals.bytesOut),
    bytesIn: of((s) => s.m.totals.bytesIn),
    inApduMs: inApdus,
    hostCpuMs: hostCpu,
    hostCpuUserMs: of((s) => s.m.cpu.userMs),
    hostCpuSystemMs: of((s) => s.m.cpu.systemMs),
    hostCryptoCpuMs: crypto,
    hostOtherCpuMs: of((s) => s.m.cpu.userMs + s.m.cpu.systemMs - s.cryptoMs),
    cardJvmCpuMs: of((s) => s.cardCpuMs),
    pcscdCpuMs: of((s) => s.pcscdCpuMs),
    transport: {
      apdus: of((s) => s.transport.apdus),
      ms: transport,
      /** Ratios of medians. */
      wallOverTransport: ratio(wall.median, transport.median),
      inApduOverTransport: ratio(inApdus.median, transport.median),
    },
  };
}

const one = report('1+1');
const two = report('1+2');
const doc = {
  benchmark: 'backup',
  date: new Date().toISOString(),
  readers,
  rounds,
  warmup,
  backups: { '1+1': one, '1+2': two },
  twoOverOne: {
    wallMs: ratio(two.wallMs.median, one.wallMs.median),
    apdus: ratio(two.apdus.median, one.apdus.median),
    bytes: ratio(two.bytesOut.median + two.bytesIn.median, one.bytesOut.median + one.bytesIn.median),
    hostCpuMs: ratio(two.hostCpuMs.median, one.hostCpuMs.median),
    inApduMs: ratio(two.inApduMs.median, one.inApduMs.median),
  },
};

say('');
say(
  `backup benchmark: ${rounds} rounds (after ${warmup} warm-up) of 1+1 and ` +
    `1+2 on ${readers.join(' | ')}, fresh cards each round (median / p95, ms)`,
);
for (const r of [one, two]) {
  say('');
  say(
    `${r.kind}: wall ${ms(r.wallMs.median)} / ${ms(r.wallMs.p95)} ms; ${r.apdus.median} APDUs ` +
      `(${r.commands.median} commands, ${r.chainBlocks.median} chain blocks, ${r.getResponses.median} GET RESPONSE), ` +
      `${r.bytesOut.median} bytes out, ${r.bytesIn.median} bytes in`,
  );
  for (const line of stepTable(r.steps, (c) => String(c.median), ['APDUs', 'out', 'in'])) say(`  ${line}`);
  const perStep = r.stepsOverTransport.map((t) => [t.step, ms(t.transportMs.median), x(t.inApduOverTransport), x(t.wallOverTransport)]);
  for (const line of table([['step', 'transport only ms', 'APDUs / transport', 'step / transport'], ...perStep])) say(`  ${line}`);
  say(
    `  host CPU ${ms(r.hostCpuMs.median)} ms (user ${ms(r.hostCpuUserMs.median)}, system ${ms(r.hostCpuSystemMs.median)}): ` +
      `host crypto ${ms(r.hostCryptoCpuMs.median)}, the rest ${ms(r.hostOtherCpuMs.median)}`,
  );
  say(
    `  card JVMs CPU ${ms(r.cardJvmCpuMs.median)} ms (all three cards), ` +
      `pcscd CPU ${ms(r.pcscdCpuMs.median)} ms (10 ms ticks: mean ${ms(r.pcscdCpuMs.mean)})`,
  );
  say(
    `  transport only (same ${r.transport.apdus.median} APDUs, same sizes, loopback applet): ` +
      `${ms(r.transport.ms.median)} / ${ms(r.transport.ms.p95)} ms; ` +
      `in-APDU time / transport ${x(r.transport.inApduOverTransport)}, wall / transport ${x(r.transport.wallOverTransport)}`,
  );
}
say('');
say('(phases, medians: connect = to the card until its first APDU; APDUs ms = inside transmit; host = between APDUs:');
say(
  ' parsing, certificate and signature checks, the checkpoints (claim, each ' +
    'blob); after = the last answer checked, the journal saved with fsync;',
);
say(' release = disconnect + reset)');
say(
  `1+2 over 1+1: wall ${x(doc.twoOverOne.wallMs)}, APDUs ${x(doc.twoOverOne.apdus)}, bytes ` +
    `${x(doc.twoOverOne.bytes)}, host CPU ${x(doc.twoOverOne.hostCpuMs)}, in-APDU time ${x(doc.twoOverOne.inApduMs)}`,
);
if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
