/**
 * The conformance suite proves itself on the real stack (pcsclite -> pcscd -> vpcd -> jCardSim): the
 * reference applet passes every check, and each deliberately broken variant (fixtures/.../broken/) fails
 * exactly the checks that name its bug while every other check still passes. Test card 0 is the card under
 * test (its applet switched with the fixture's `applet CLASS` control command), test card 1 the peer.
 */
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PcscService } from '../../src/readers/index.js';
import { simControl } from '../../src/sim/index.js';
import { listChecks, loadInvalidPointFixture, runConformance, type ConformanceReport } from '../../src/conformance/index.js';
import { openCard, testManufacturer, type OpenCard } from './support/cards.js';
import { cardOffset, readerForCard, repoRoot, sim } from './support/sim.js';

jest.setTimeout(60_000);

const RUN_DIR = process.env['TWINCARD_RUN_DIR'] || join(repoRoot, '.run');
const fixture = loadInvalidPointFixture(join(repoRoot, 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json'));
const wycheproof = fixture.points.map((p) => `wycheproof-${p.tcId}`);
const TOTAL = listChecks(fixture.points).length;

let service: PcscService;
let dut: OpenCard;
let peer: OpenCard;

/** Card 0 factory-fresh with `cls` under the twincard AID (the reference applet when undefined). */
async function install(cls: string | undefined): Promise<void> {
  if (cls === undefined) sim('wipe', 0);
  else await simControl(RUN_DIR, cardOffset, `applet ${cls}`);
}

async function runSuite(cls?: string): Promise<ConformanceReport> {
  await install(cls);
  sim('wipe', 1);
  return runConformance({
    card: { transport: dut.pcsc, name: readerForCard(0), reset: () => install(cls) },
    peer: { transport: peer.pcsc, name: readerForCard(1), reset: async () => void sim('wipe', 1) },
    destructive: true,
    testManufacturer: testManufacturer(),
    invalidPoints: fixture.points,
  });
}

function failedIds(report: ConformanceReport): string[] {
  return report.results
    .filter((r) => r.status === 'fail')
    .map((r) => r.id)
    .sort();
}

beforeAll(async () => {
  service = PcscService.open();
  dut = await openCard(service, 0);
  peer = await openCard(service, 1);
});

afterAll(async () => {
  await install(undefined).catch(() => undefined); // leave card 0 with the reference applet
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  await dut?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  await peer?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  service?.close();
});

test('the suite has 370 checks with unique ids, 23 of them destructive', () => {
  const checks = listChecks(fixture.points);
  expect(checks).toHaveLength(370);
  expect(new Set(checks.map((c) => c.id)).size).toBe(370);
  expect(checks.filter((c) => c.destructive)).toHaveLength(23);
});

test('the reference applet passes every check, all of them applicable (card and peer)', async () => {
  const t0 = performance.now();
  const report = await runSuite();
  // The full run's time, for the lead's report (not asserted: the machine is shared).
  process.stderr.write(
    `conformance: reference applet, ${report.summary.total} checks in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  const failures = report.results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.status}: ${r.actual}`);
  expect(failures).toEqual([]);
  expect(report.summary).toEqual({ total: TOTAL, passed: TOTAL, failed: 0, notApplicable: 0 });
  expect(report.testManufacturer).toBe(true);
  // Every check did something on the card: no check passes without a single APDU.
  expect(report.results.filter((r) => r.sent.length === 0).map((r) => r.id)).toEqual([]);
});

const POINTS = [...wycheproof, 'x-is-p', 'y-is-p', 'x-plus-p', 'zero'];
const BLOB_INVALID = [
  'pin-length-0',
  'pin-length-3',
  'pin-length-17',
  'pin-not-zero-padded',
  'padding-not-zero',
  'd-zero',
  'd-equals-n',
  'd-above-n',
  'public-key-off-curve',
  'public-key-prefix-02',
];
const REFUSED_EXPORTING = ['create-wallet', 'reset', 'backup-prepare', 'backup-cancel', 'backup-import', 'perso-generate', 'perso-commit'];
const REFUSED_BACKED_UP_PRIMARY = [
  'create-wallet',
  'backup-prepare',
  'backup-cancel',
  'backup-export',
  'backup-import',
  'perso-generate',
  'perso-commit',
];

/** Each broken variant and the checks that must fail on it (docs/conformance.md says why). */
const BROKEN: ReadonlyArray<readonly [string, readonly string[]]> = [
  [
    'NoPointCheckApplet',
    [
      ...POINTS.map((p) => `invalid-point/export-eb/${p}`),
      ...POINTS.map((p) => `invalid-point/import-ep/${p}`),
      'import/blob-invalid/public-key-off-curve',
      'order/export/point-before-certificate',
      'order/export/point-before-count',
      'order/import/point-before-certificate',
    ],
  ],
  [
    'SecondBackupApplet',
    [
      'finalize/export-after',
      'invariant/i2-backed-up',
      'invariant/i5-no-export',
      'state/backed-up-primary/backup-export',
      'state/backed-up-backup/backup-export',
    ],
  ],
  [
    'MacSkippedApplet',
    [
      'import/tampered-tag',
      'import/tampered-ciphertext',
      'import/tampered-iv',
      'import/blob-for-another-eb',
      'order/import/mac-before-plaintext',
      'import/second-blob',
      'state/backed-up-backup/backup-import',
    ],
  ],
  [
    'PinNotDecrementedApplet',
    ['verify-pin/wrong-then-right', 'verify-pin/brute-force', 'change-code/wrong-current', 'change-code/answer', 'reset/wrong-code'],
  ],
  ['NonAtomicImportApplet', BLOB_INVALID.map((m) => `import/blob-invalid/${m}`)],
  [
    'ForgetsReleasedBlobApplet',
    [
      'export/answer',
      'export/to-recorded-card',
      'export/second-card',
      'export/third-card',
      'export/recorded-card-when-full',
      'order/export/signature-before-count',
      'order/export/point-before-count',
      'invariant/i2-exporting',
      'invariant/i2-backed-up',
      'finalize/without-pin',
      'finalize/answer',
      'finalize/retry',
      'finalize/export-after',
      'state/backup-exporting/v1-backup-ins',
      'state/backup-exporting/select-read-attest',
      ...REFUSED_EXPORTING.map((c) => `state/backup-exporting/${c}`),
      'state/backed-up-primary/v1-backup-ins',
      'state/backed-up-primary/select-read-attest',
      ...REFUSED_BACKED_UP_PRIMARY.map((c) => `state/backed-up-primary/${c}`),
      'reset/backed-up-primary',
      'peer/backup-to-peer',
    ],
  ],
  ['CodeInClearApplet', ['session/plain-refused/verify-pin']],
  [
    'CounterIgnoredApplet',
    [
      'session/sm/ctr-repeated',
      'session/sm/ctr-skipped',
      'session/sm/ctr-zero',
      'session/sm/ctr-high',
      'session/sm/replay-same-session',
      'order/session/session-before-pin',
    ],
  ],
];

test.each(BROKEN)('%s: the suite fails exactly the checks that name its bug, and passes every other', async (cls, expected) => {
  const report = await runSuite(`dev.twincard.broken.${cls}`);
  // First what went wrong where it should not have, with the card's answers (a readable failure), then the exact set.
  const unexpected = report.results
    .filter((r) => r.status !== 'pass' && !expected.includes(r.id))
    .map((r) => `${r.id}: ${r.status}: ${r.actual}`);
  expect(unexpected).toEqual([]);
  expect(failedIds(report)).toEqual([...expected].sort());
  expect(report.summary).toEqual({ total: TOTAL, passed: TOTAL - expected.length, failed: expected.length, notApplicable: 0 });
});

test('twincard conformance: exit 0 on the reference applet, exit 10 and the failed check named on a broken one', async () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'conformance', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, TWINCARD_TRACE: '' },
    });
  // The CLI opens the reader itself: release ours first.
  await dut.close();
  try {
    await install(undefined);
    let r = cli(['--reader', readerForCard(0), '--destructive', '--sim-reset', '--only', 'verify-pin/,sign/', '--json']);
    expect(r.stderr).toMatch(/checks: \d+ passed, 0 failed/);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { conforms: boolean; results: Array<{ id: string; status: string }> };
    expect(doc.conforms).toBe(true);
    expect(doc.results.map((x) => x.id)).toContain('verify-pin/brute-force');

    // --sim-reset reinstalls the applet the card runs, so the broken variant stays under test across resets.
    await install('dev.twincard.broken.PinNotDecrementedApplet');
    r = cli(['--reader', readerForCard(0), '--only', 'verify-pin/', '--destructive', '--sim-reset']);
    expect(r.status).toBe(10);
    // The PASS/FAIL table is the result (stdout); the verdict that sets the exit code is a diagnostic (stderr).
    expect(r.stdout).toMatch(/^FAIL {2}verify-pin\/wrong-then-right/m);
    expect(r.stdout).toMatch(/^FAIL {2}verify-pin\/brute-force/m);
    expect(r.stdout).toMatch(/^PASS {2}verify-pin\/length/m);
    expect(r.stdout).toMatch(/expected: .*SW 63C4/);
    expect(r.stdout).toMatch(/checks: \d+ passed, 2 failed, 0 not applicable/);
    expect(r.stderr).toContain('the card does not conform: 2 check(s) failed');
    expect(await simControl(RUN_DIR, cardOffset, 'applet')).toBe('ok dev.twincard.broken.PinNotDecrementedApplet');
  } finally {
    await install(undefined);
    dut = await openCard(service, 0);
  }
});
