/**
 * `twincard bench` as a bench operator runs it (the built dist/, a child process) on test cards 0..2:
 * two full 1+2 protocol v2 backups on fresh virtual cards, and the JSON checked against docs/protocol.md.
 *
 * The exact APDU count of a 1+2 backup, from docs/protocol.md:
 *   section 7, the commands per step:
 *     prepare-backup i  SELECT, READ, BACKUP_PREPARE                                          3 (x2)
 *     export-primary    SELECT, READ, OPEN_SESSION, VERIFY_PIN, BACKUP_EXPORT x2, BACKUP_FINALIZE 7
 *     import i          SELECT, READ, BACKUP_IMPORT                                            3 (x2)
 *   plus one READ after BACKUP_FINALIZE: the host checks that the primary's BACKUP_CARD_IDS is
 *   exactly this backup's cards (src/protocol/backup.ts)                                        +1
 *   = 20 commands.
 *   section 2, chaining: each wrapped BACKUP_EXPORT's data is 2 blocks, each BACKUP_IMPORT's 3     +6
 *   and response chaining: each BACKUP_EXPORT's answer and each of the primary's two READs are over
 *   256 bytes (one GET RESPONSE each)                                                             +4
 *   = 30 APDUs per backup (docs/benchmarks.md section 2; test/unit/bench/docs-figures.test.ts checks
 *   the per-step counts against a recorded backup).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PcscService } from '../../src/readers/index.js';
import { waitPresence } from './support/backup-cards.js';
import { readerForCard, repoRoot, sim, simStatus } from './support/sim.js';

interface Totals {
  apdus: number;
  commands: number;
  chainBlocks: number;
  getResponses: number;
  bytesOut: number;
  bytesIn: number;
  transmitMs: number;
}
interface Step extends Totals {
  step: string;
  ms: number;
  refused: number;
  phases: { connectMs: number; hostBetweenApdusMs: number; afterApdusMs: number; releaseMs: number };
}
interface Report {
  pairs: number;
  rounds: number;
  backupCount: number;
  groups: string[][];
  backups: { round: number; group: number; wallMs: number; hostCryptoCpuMs: number; totals: Totals; steps: Step[] }[];
  failures: unknown[];
  summary: {
    attempted: number;
    succeeded: number;
    failed: number;
    throughput: number;
    backupSeconds: number;
    hostCpuMs: { median: number } | null;
  };
}

const STEPS: Record<string, { commands: number; chainBlocks: number; getResponses: number }> = {
  'prepare-backup-1': { commands: 3, chainBlocks: 0, getResponses: 0 },
  'prepare-backup-2': { commands: 3, chainBlocks: 0, getResponses: 0 },
  // SELECT, READ (its answer in two parts: certificate 02), OPEN_SESSION, VERIFY_PIN, BACKUP_EXPORT x2, FINALIZE, READ.
  'export-primary': { commands: 8, chainBlocks: 2, getResponses: 4 },
  // BACKUP_IMPORT's data (certificate 02, EP, seal, blob) takes three chained blocks.
  'import-1': { commands: 3, chainBlocks: 2, getResponses: 0 },
  'import-2': { commands: 3, chainBlocks: 2, getResponses: 0 },
};

function twincard(args: string[]) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), ...args], {
    env: { ...process.env, TWINCARD_TRACE: '' },
    encoding: 'utf8',
    timeout: 25_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const group = [0, 1, 2].map(readerForCard).join(',');

test("bench --pairs 1 --rounds 2: two 1+2 backups, every step timed, exactly the protocol's APDUs", () => {
  const { code, stdout, stderr } = twincard(['bench', '--virtual', '--pairs', '1', '--rounds', '2', '--readers', group, '--json']);
  expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
  const report = JSON.parse(stdout) as Report;
  expect(report).toMatchObject({ pairs: 1, rounds: 2, backupCount: 2, groups: [[0, 1, 2].map(readerForCard)], failures: [] });
  expect(report.summary).toMatchObject({ attempted: 2, succeeded: 2, failed: 0 });
  expect(report.summary.throughput).toBeGreaterThan(0);
  expect(report.summary.hostCpuMs!.median).toBeGreaterThan(0);
  expect(report.backups.map((b) => b.round)).toEqual([0, 1]);
  for (const backup of report.backups) {
    expect(backup.steps.map((s) => s.step)).toEqual(Object.keys(STEPS));
    for (const s of backup.steps) {
      expect({ step: s.step, commands: s.commands, chainBlocks: s.chainBlocks, getResponses: s.getResponses, refused: s.refused }).toEqual({
        step: s.step,
        ...STEPS[s.step],
        refused: 0,
      });
      expect(s.apdus).toBe(s.commands + s.chainBlocks + s.getResponses);
      expect(s.ms).toBeGreaterThan(0);
      expect(s.transmitMs).toBeGreaterThan(0);
      expect(s.transmitMs).toBeLessThanOrEqual(s.ms); // the step's APDUs happen inside the step
      // The phases are every part of the step: connect, APDUs, host between them, journal save, release.
      const { connectMs, hostBetweenApdusMs, afterApdusMs, releaseMs } = s.phases;
      for (const phase of [connectMs, hostBetweenApdusMs, afterApdusMs, releaseMs]) expect(phase).toBeGreaterThanOrEqual(0);
      expect(afterApdusMs).toBeGreaterThan(0); // the journal is saved (with fsync) after every step's last APDU
      expect(Math.abs(connectMs + s.transmitMs + hostBetweenApdusMs + afterApdusMs + releaseMs - s.ms)).toBeLessThan(0.01);
    }
    expect(backup.totals).toMatchObject({ apdus: 30, commands: 20, chainBlocks: 6, getResponses: 4 });
    // Sizes that do not depend on signature lengths: a prepare step sends SELECT (16), READ (5) and
    // BACKUP_PREPARE (5) and gets back 2 SWs, a 65-byte EB with its TLV header and a 8..72-byte DER signature.
    expect(backup.steps[0]!.bytesOut).toBe(16 + 5 + 5);
    expect(backup.steps[1]!.bytesOut).toBe(16 + 5 + 5);
    expect(backup.totals.bytesOut).toBe(backup.steps.reduce((a, s) => a + s.bytesOut, 0));
    expect(backup.totals.bytesIn).toBe(backup.steps.reduce((a, s) => a + s.bytesIn, 0));
    const stepSum = backup.steps.reduce((a, s) => a + s.ms, 0);
    expect(Math.abs(stepSum - backup.wallMs)).toBeLessThan(1); // the steps cover the whole backup
    expect(backup.hostCryptoCpuMs).toBeGreaterThan(0);
  }
}, 30_000);

test.each([
  ['no --virtual', ['--rounds', '1', '--readers', group], /pass --virtual/],
  ['--pairs and --readers disagree', ['--virtual', '--pairs', '2', '--readers', group], /--pairs 2 but 1 --readers group\(s\) given/],
  ['a group of two for a 1+2 backup', ['--virtual', '--readers', [0, 1].map(readerForCard).join(',')], /a group is 3 readers/],
  ['a reader twice', ['--virtual', '--readers', [0, 1, 0].map(readerForCard).join(',')], /is in two places/],
  ['--rounds 0', ['--virtual', '--rounds', '0', '--readers', group], /--rounds: an integer 1\.\.100000, not 0/],
  ['--backups 3', ['--virtual', '--backups', '3', '--readers', group], /--backups: 1 or 2, not 3/],
  ['--reader instead of --readers', ['--virtual', '--reader', readerForCard(0)], /bench takes reader groups: --readers/],
] as const)('%s: exit 2 with the reason, before touching a card (bench wipes them)', (_what, args, reason) => {
  const before = [0, 1, 2].map(simStatus); // "inserted apdus=N": each card's own APDU counter
  const { code, stderr, stdout } = twincard(['bench', ...args]);
  expect([0, 1, 2].map(simStatus)).toEqual(before);
  expect(code).toBe(2);
  expect(stderr).toMatch(reason);
  expect(stdout).toBe('');
});

test('two groups at once (1+1 each, cards 0-1 and 2-3), run in a child with a bigger libuv pool: both backups succeed', () => {
  const groups = ['--readers', [0, 1].map(readerForCard).join(','), '--readers', [2, 3].map(readerForCard).join(',')];
  const { code, stdout } = twincard(['bench', '--virtual', '--backups', '1', '--rounds', '1', ...groups, '--json']);
  expect(code).toBe(0);
  const report = JSON.parse(stdout) as Report;
  expect(report.summary).toMatchObject({ attempted: 2, succeeded: 2, failed: 0 });
});

test('a card missing from its reader: the failure is reported (round, group, phase, reason), exit 1, JSON still on stdout', async () => {
  sim('pull', 2);
  const service = PcscService.open();
  try {
    await waitPresence(service, 2, false);
    const { code, stdout, stderr } = twincard(['bench', '--virtual', '--rounds', '1', '--readers', group, '--wait', '1', '--json']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/bench: 1 of 1 backups failed/);
    const report = JSON.parse(stdout) as Report;
    expect(report.failures).toEqual([
      {
        round: 0,
        group: 0,
        phase: 'prepare',
        error: expect.stringMatching(new RegExp(`CardWaitTimeoutError: no card in "${readerForCard(2)}"`)),
      },
    ]);
    expect(report.summary).toMatchObject({ attempted: 1, succeeded: 0, failed: 1, throughput: 0 });
    expect(report.backups).toEqual([]);
  } finally {
    sim('insert', 2);
    await waitPresence(service, 2, true).finally(() => service.close());
  }
}, 30_000);
