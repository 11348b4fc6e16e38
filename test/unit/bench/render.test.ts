/** The bench table: one row per step in run order, the totals, and every failure named. */
import { renderBench, table } from '../../../src/bench/render.js';
import type { BenchReport, StepSummary } from '../../../src/bench/run-bench.js';
import { summarize } from '../../../src/bench/stats.js';

const s = (...v: number[]) => summarize(v);
const step = (name: string, apdus: number): StepSummary => ({
  step: name,
  ms: s(10, 12, 30),
  apdus: s(apdus),
  bytesOut: s(37),
  bytesIn: s(407, 409),
  transmitMs: s(4),
  connectMs: s(0.2),
  hostBetweenApdusMs: s(1.5),
  afterApdusMs: s(2.5),
  releaseMs: s(0.3),
});

const report: BenchReport = {
  pairs: 2,
  rounds: 3,
  backupCount: 1,
  groups: [
    ['A0', 'A1'],
    ['B0', 'B1'],
  ],
  backups: [],
  failures: [{ round: 1, group: 1, phase: 'backup', step: 'finish-primary', error: 'CardRefusedError: 9A0B' }],
  summary: {
    attempted: 6,
    succeeded: 5,
    failed: 1,
    backupSeconds: 0.5,
    throughput: 10,
    wallMs: s(40, 50, 60, 70, 80),
    apdus: s(18),
    commands: s(16),
    chainBlocks: s(2),
    getResponses: s(0),
    bytesOut: s(945, 947),
    bytesIn: s(1486),
    transmitMs: s(20),
    hostCpuMs: s(15),
    hostCryptoCpuMs: s(5),
    steps: [step('start-primary', 4), step('link-backup-1', 4)],
  },
};

test('renderBench: steps in order with median, p95 and phases; totals; throughput; failures', () => {
  const text = renderBench(report).join('\n');
  expect(text).toContain('bench: 2 group(s) of 2 readers in parallel, 3 round(s), 1+1 backups');
  expect(text).toContain('group 2: B0 | B1');
  expect(text).toMatch(/^start-primary\s+12\.0\s+30\.0\s+0\.2\s+4\.0\s+1\.5\s+2\.5\s+0\.3\s+4\s+37\s+407\/409$/m);
  expect(text.indexOf('start-primary')).toBeLessThan(text.indexOf('link-backup-1'));
  expect(text).toContain('backup wall time     median 60.0 ms, p95 80.0 ms (min 40.0, max 80.0)');
  expect(text).toContain('APDUs per backup     18 (16 commands, 2 chain blocks, 0 GET RESPONSE); bytes out 945/947, in 1486');
  expect(text).toContain('host CPU per backup  median 15.0 ms (of which host crypto 5.0 ms), shared process');
  expect(text).toContain('throughput           10.00 backups/s (5 ok, 1 failed, of 6; 0.50 s of backups)');
  expect(text).toContain('FAILED round 2 group 2 backup at finish-primary: CardRefusedError: 9A0B');
});

test('table: first column left-aligned, the others right-aligned', () => {
  expect(
    table([
      ['a', 'bb'],
      ['ccc', 'd'],
    ]),
  ).toEqual(['a    bb', 'ccc   d']);
});
