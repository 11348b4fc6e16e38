/**
 * `twincard sim applet K CLASS` on one card, through pcscd: a broken variant answers differently (the
 * conformance suite says which check it fails), `sim wipe` refuses without a terminal and without --force (the
 * variant stays), and `sim wipe --force` puts the reference applet back.
 *
 * Issue 6's developer path, end to end through pcscd: `twincard sim up --applet their.jar --class NAME --aid HEX`
 * puts a developer's applet on the virtual cards, and `twincard conformance` judges it. Two jars built here,
 * outside the fixture: one whose applet implements the protocol (the reference applet under the developer's
 * own class name) passes every check; one whose applet forgot the point check fails, naming those checks.
 *
 * This file restarts the shared virtual cards (twice) and puts the reference applet back at the end: it must
 * run alone, as the integration tests do (--runInBand).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardOffset, readerForCard, repoRoot } from './support/sim.js';

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const TWINCARD_AID = 'F07477696E6361726401';

interface Report {
  summary: { total: number; passed: number; failed: number; notApplicable: number };
  results: { id: string; status: string }[];
}

function twincard(args: string[]): { status: number | null; stdout: string; stderr: string } {
  // stdin ignored: no terminal, as in CI; `sim wipe` must then refuse without --force.
  return spawnSync('node', [cli, ...args], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A developer's jar: `package com.example`, compiled against the JavaCard API (jCardSim) and the fixture. */
function buildJar(dir: string, className: string, base: string): string {
  const src = join(dir, 'src', 'com', 'example');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, `${className}.java`),
    `package com.example;
public class ${className} extends ${base} {
  protected ${className}(byte[] b, short o, byte l) { super(b, o, l); }
  public static void install(byte[] b, short o, byte l) { new ${className}(b, o, l).register(); }
}
`,
  );
  const target = join(repoRoot, 'fixtures', 'target');
  const jcardsim = readdirSync(join(target, 'lib')).find((f) => f.startsWith('jcardsim'));
  const classpath = [join(target, 'twincard-fixture.jar'), join(target, 'lib', jcardsim!)].join(':');
  const classes = join(dir, 'classes');
  const javac = spawnSync(
    'javac',
    ['-source', '8', '-target', '8', '-nowarn', '-cp', classpath, '-d', classes, join(src, `${className}.java`)],
    { encoding: 'utf8' },
  );
  expect(javac.stderr).toBe('');
  expect(javac.status).toBe(0);
  const jar = join(dir, `${className}.jar`);
  expect(spawnSync('jar', ['cf', jar, '-C', classes, '.'], { encoding: 'utf8' }).status).toBe(0);
  return jar;
}

function simUpWith(jar: string, className: string): void {
  const up = twincard(['sim', 'up', '--applet', jar, '--class', `com.example.${className}`, '--aid', TWINCARD_AID]);
  expect(up.stderr).toContain('restarting');
  expect(up.status).toBe(0);
  const status = twincard(['sim', 'status', '--json']);
  const doc = JSON.parse(status.stdout) as { cards: { index: number; applet: string | null }[] };
  expect(doc.cards.find((c) => c.index === 0)?.applet).toBe(`com.example.${className}`);
}

function conformance(): { status: number | null; report: Report; stderr: string } {
  const run = twincard([
    'conformance',
    '--reader',
    readerForCard(0),
    '--peer-reader',
    readerForCard(1),
    '--destructive',
    '--sim-reset',
    '--json',
  ]);
  return { status: run.status, report: JSON.parse(run.stdout) as Report, stderr: run.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'twincard-dev-applet-'));
});
afterAll(() => {
  // The reference applet back on every card, whatever happened above.
  const restore = twincard(['sim', 'up']);
  expect(restore.status).toBe(0);
});

const BROKEN = 'dev.twincard.broken.PinNotDecrementedApplet';
const REFERENCE = 'dev.twincard.applet.TwincardApplet';

/** The verify-pin checks of the conformance suite on test card 0 (exit 0: all pass, 10: one fails). */
function verifyPinChecks(): { status: number | null; failed: string[] } {
  const run = twincard(['conformance', '--reader', readerForCard(0), '--destructive', '--sim-reset', '--only', 'verify-pin/', '--json']);
  const report = JSON.parse(run.stdout) as Report;
  return { status: run.status, failed: report.results.filter((r) => r.status === 'fail').map((r) => r.id) };
}

const appletOf = (k: number) => (JSON.parse(twincard(['sim', 'applet', String(k), '--json']).stdout) as { applet: string | null }).applet;

test('sim applet K CLASS: a broken variant answers differently; wipe without --force refuses; wipe --force puts the reference back', () => {
  const k = cardOffset;
  try {
    const put = twincard(['sim', 'applet', String(k), BROKEN, '--force', '--json']);
    expect(put.status).toBe(0);
    expect(JSON.parse(put.stdout)).toEqual({ card: k, reader: readerForCard(0), action: 'applet', applet: BROKEN });
    expect(appletOf(k + 1)).toBe(REFERENCE); // only card K changed
    // Through pcscd, the variant's one fault: a wrong access code costs no try.
    const broken = verifyPinChecks();
    expect(broken.status).toBe(10);
    expect(broken.failed.length).toBeGreaterThan(0);
    expect(broken.failed.every((id) => id.startsWith('verify-pin/'))).toBe(true);

    // No terminal, no --force: refused before anything reaches the card (the variant is still there).
    const refused = twincard(['sim', 'wipe', String(k)]);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('sim wipe: not confirmed (--force skips the question); the card is untouched');
    expect(appletOf(k)).toBe(BROKEN);
    // sim.sh's verb is the CLI's.
    const viaScript = spawnSync(join(repoRoot, 'scripts', 'sim.sh'), ['applet', String(k), '--json'], { encoding: 'utf8' });
    expect(JSON.parse(viaScript.stdout)).toMatchObject({ card: k, action: 'show-applet', applet: BROKEN });
  } finally {
    expect(twincard(['sim', 'wipe', String(k), '--force']).status).toBe(0);
  }
  expect(appletOf(k)).toBe(REFERENCE);
  const reference = verifyPinChecks();
  expect(reference.failed).toEqual([]);
  expect(reference.status).toBe(0);
}, 120_000);

test.each([
  [['sim', 'applet', '0', 'not..a.class'], 2, 'not a Java class name'],
  [['sim', 'applet', '0', BROKEN], 2, 'sim applet: not confirmed (--force skips the question); the card is untouched'],
  [['sim', 'root', '0', join(repoRoot, 'fixtures', 'test-manufacturer', 'other-public-key.pem')], 2, 'sim root: not confirmed'],
  [
    ['sim', 'applet', '0', 'dev.twincard.broken.NoSuchApplet', '--force'],
    2,
    'not found on the class path: dev.twincard.broken.NoSuchApplet',
  ],
  [['sim', 'applet', '0', 'java.lang.String', '--force'], 2, 'java.lang.String is not a javacard.framework.Applet'],
  [['sim', 'applet', '97', BROKEN], 5, 'card 97 is not running'],
  [['sim', 'wipe', '97', '--force'], 5, 'card 97 is not running'],
])('%j: exit %i, %s, and the card keeps its applet', (args, code, message) => {
  const before = appletOf(cardOffset);
  const run = twincard(args.map((a) => (a === '0' ? String(cardOffset) : a)));
  expect(run.stderr).toContain(message);
  expect(run.status).toBe(code);
  expect(appletOf(cardOffset)).toBe(before);
});

test('a developer applet that implements the protocol: sim up --applet, then conformance passes every check', () => {
  const jar = buildJar(join(dir, 'good'), 'DevWallet', 'dev.twincard.applet.TwincardApplet');
  simUpWith(jar, 'DevWallet');
  const { status, report, stderr } = conformance();
  expect(stderr).toMatch(/PASS/);
  expect(report.summary.failed).toBe(0);
  expect(report.summary.notApplicable).toBe(0);
  expect(report.summary.passed).toBe(report.summary.total);
  expect(report.summary.total).toBeGreaterThan(250);
  expect(status).toBe(0);
}, 300_000);

test('a developer applet without the on-card point check: conformance fails (exit 10) and names the point checks', () => {
  const jar = buildJar(join(dir, 'sloppy'), 'SloppyWallet', 'dev.twincard.broken.NoPointCheckApplet');
  simUpWith(jar, 'SloppyWallet');
  const { status, report, stderr } = conformance();
  const failed = report.results.filter((r) => r.status === 'fail').map((r) => r.id);
  expect(failed.length).toBeGreaterThan(0);
  // The point checks, and the check-order checks whose first fault is an invalid point.
  const pointCheck = (id: string) =>
    id.startsWith('invalid-point/') ||
    id.startsWith('session/open/invalid-eh/') ||
    id.includes('off-curve') ||
    /^order\/.*\/point-before-/.test(id);
  expect(failed.filter((id) => !pointCheck(id))).toEqual([]);
  expect(failed).toContain('invalid-point/export-eb/zero');
  expect(stderr).toMatch(/FAIL/);
  expect(status).toBe(10);
}, 300_000);
