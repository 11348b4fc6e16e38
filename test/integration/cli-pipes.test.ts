/**
 * Every `twincard` command through real pipes (the built dist/, a child process with stdout and stderr
 * captured apart), against the reference applet on virtual cards through pcsclite -> pcscd -> vpcd ->
 * jCardSim: the result is on stdout and nothing else is (plain text with the fields a person greps for, or
 * one JSON document with --json); prompts, progress, warnings and the trace are on stderr. ykman's and gp's
 * convention: `twincard info | grep state` prints the state line. Also `personalize` without a terminal and
 * without --force: refused, nothing sent. Uses test cards 0 and 1 (wiped first).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import { testCardId } from './support/cards.js';
import { readerForCard, repoRoot, sim } from './support/sim.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const PIN = '4817263590';
const NEW_PIN = '5550001234';
const work = mkdtempSync(join(tmpdir(), 'twincard-pipes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A clean environment: the trace on (so stderr is busy), no colour, no code, no reader, no user config. */
function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, TWINCARD_TRACE: '1', NO_COLOR: '1', TWINCARD_CONFIG: join(work, 'no-config.json') };
  delete base['TWINCARD_PIN'];
  delete base['TWINCARD_NEW_PIN'];
  delete base['TWINCARD_READER'];
  return { ...base, ...extra };
}

function twincard(args: readonly string[], extra: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: env(extra),
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const on = (k: number) => ['--reader', readerForCard(k)];
const withPin = { TWINCARD_PIN: PIN };

/** What never belongs on stdout: trace and comment lines, prompts, progress, warnings, errors. */
const NOT_A_RESULT = [/^>> /m, /^<< /m, /^# /m, /Present a card/, /^warning/im, /Error: /, /^step \d/m, /^ {2}\S+: card [0-9A-F]{16} in /m];

/**
 * Plain output: exit 0, every `expected` on stdout and none of them on stderr (the result is not shown twice),
 * nothing of NOT_A_RESULT on stdout; `diagnostics` (prompts, progress, the trace) on stderr.
 */
function expectPlainResult(run: Run, expected: readonly RegExp[], diagnostics: readonly RegExp[] = []): void {
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  for (const pattern of expected) {
    expect(run.stdout).toMatch(pattern);
    expect(run.stderr).not.toMatch(pattern);
  }
  for (const noise of NOT_A_RESULT) expect(run.stdout).not.toMatch(noise);
  for (const pattern of diagnostics) expect(run.stderr).toMatch(pattern);
}

/** --json: exit 0 and stdout is exactly one JSON document (the human lines went to stderr). */
// The caller names the document's shape; the test's assertions check it.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
function expectJsonResult<T>(run: Run, exitCode = 0): T {
  expect({ code: run.code, stderr: run.code === exitCode ? '' : run.stderr }).toEqual({ code: exitCode, stderr: '' });
  expect(run.stdout.trimEnd()).toMatch(/^\{[\s\S]*\}$/);
  return JSON.parse(run.stdout) as T;
}

/** The trace of a card command: it went to stderr, which is what keeps stdout clean. */
const TRACED = /^>> 00A40400 /m;

beforeAll(() => {
  sim('wipe', 0);
  sim('wipe', 1);
});

describe('commands without a card', () => {
  test('--version and -V: the version of package.json and the card protocol; --json gives both as fields', () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expectPlainResult(twincard(['--version']), [new RegExp(`^twincard ${version.replace(/\./g, '\\.')} \\(card protocol 2\\)\n$`)]);
    expect(twincard(['-V']).stdout).toBe(twincard(['--version']).stdout);
    expect(expectJsonResult(twincard(['--version', '--json']))).toEqual({ name: 'twincard', version, protocol: 2 });
    const misplaced = twincard(['info', '--version']);
    expect({ code: misplaced.code, stdout: misplaced.stdout }).toEqual({ code: 2, stdout: '' });
    expect(misplaced.stderr).toContain('--version takes no command');
  });

  test('readers: one line per reader on stdout; --json the list', () => {
    expectPlainResult(twincard(['readers']), [new RegExp(`^\\d+: ${readerForCard(0)} {2}ATR [0-9A-F]+$`, 'm')]);
    const doc = expectJsonResult<{ readers: { name: string; card: boolean }[] }>(twincard(['readers', '--json']));
    expect(doc.readers).toContainEqual(expect.objectContaining({ name: readerForCard(1), card: true }));
  });

  test('sim status: the table on stdout (pcscd, each card, each reader); --json the document alone on stdout', () => {
    expectPlainResult(twincard(['sim', 'status']), [/^pcscd +running \(pid \d+\)$/m, /^card 0 +pid \d+/m, /^reader 0 /m]);
    const doc = expectJsonResult<{ pcscd: { running: boolean } }>(twincard(['sim', 'status', '--json']));
    expect(doc.pcscd.running).toBe(true);
  });

  test('conformance --list: the catalogue on stdout; --json the same as a document', () => {
    const plain = twincard(['conformance', '--list']);
    expectPlainResult(plain, [/^select\/answer +- +- +SELECT answers 9000/m, /^\d+ checks, \d+ destructive$/m]);
    const doc = expectJsonResult<{ checks: { id: string }[] }>(twincard(['conformance', '--list', '--json']));
    expect(doc.checks.length).toBe(Number(/^(\d+) checks/m.exec(plain.stdout)?.[1]));
  });
});

describe('card commands, in the order a card lives', () => {
  const idA = toHex(testCardId(0, 'PIPE'));
  const idB = toHex(testCardId(1, 'PIPE'));
  const journal = join(work, 'journal.json');

  test('personalize without a terminal and without --force: refused (exit 2) before anything is sent', () => {
    const refused = twincard(['personalize', '--card-id', idA, '--test-manufacturer', ...on(0)]);
    expect({ code: refused.code, stdout: refused.stdout }).toEqual({ code: 2, stdout: '' });
    expect(refused.stderr).toContain('personalize: not confirmed (--force skips the question); nothing was sent to the card');
    expect(refused.stderr).not.toMatch(TRACED); // not even SELECT
    expect(expectJsonResult<{ state: string }>(twincard(['info', '--json', ...on(0)])).state).toBe('FACTORY');
  });

  test('personalize --force: the result on stdout (plain), the document on stdout (--json)', () => {
    expectPlainResult(
      twincard(['personalize', '--card-id', idA, '--test-manufacturer', '--force', ...on(0)]),
      [
        new RegExp(`^card ${idA} personalized: FACTORY -> BLANK`, 'm'),
        /^identity key +04[0-9A-F]{128}$/m,
        /^attestation key 04[0-9A-F]{128}$/m,
      ],
      [TRACED],
    );
    const doc = expectJsonResult<{ cardId: string; state: string }>(
      twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', '--json', ...on(1)]),
    );
    expect(doc).toMatchObject({ cardId: idB, state: 'BLANK' });
  });

  test('info | grep state: the state line through a shell pipe; info --json one document', () => {
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" info --reader "${readerForCard(0)}" | grep state`], {
      env: env({}),
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe('state         BLANK\n');
    expect(piped.stderr).toMatch(TRACED);
    expectPlainResult(
      twincard(['info', ...on(0)]),
      [new RegExp(`^card id +${idA}$`, 'm'), /^state +BLANK$/m, /^wallet key +\(no wallet\)$/m],
      [TRACED],
    );
    expect(expectJsonResult<{ cardId: string }>(twincard(['info', '--json', ...on(0)])).cardId).toBe(idA);
  });

  test('attest: the verdict on stdout, the TEST-root warning on stderr', () => {
    expectPlainResult(
      twincard(['attest', '--trust-test-root', ...on(0)]),
      [new RegExp(`^GENUINE: card ${idA} \\(BLANK\\)`, 'm')],
      [/^warning: that is the TEST manufacturer/m, TRACED],
    );
    expect(expectJsonResult<{ genuine: boolean }>(twincard(['attest', '--trust-test-root', '--json', ...on(0)])).genuine).toBe(true);
    // Not genuine: the verdict is still the result (stdout), the exit code says it, the reason is on stderr too.
    const untrusted = twincard(['attest', ...on(0)]);
    expect(untrusted.code).toBe(6);
    expect(untrusted.stdout).toMatch(/^NOT GENUINE: CERTIFICATE_UNTRUSTED: /m);
    expect(untrusted.stderr).toContain('not genuine (CERTIFICATE_UNTRUSTED)');
  });

  test('doctor: one line per check on stdout; --json the checks', () => {
    const args = ['doctor', '--trust-test-root', ...on(0)];
    expectPlainResult(twincard(args), [
      /^OK {4}pcscd: reachable$/m,
      new RegExp(`^OK {4}applet in ${readerForCard(0)}: .*state BLANK$`, 'm'),
    ]);
    expect(expectJsonResult<{ ok: boolean }>(twincard([...args, '--json'])).ok).toBe(true);
  });

  test('create-wallet: the wallet key on stdout; the session and the code on stderr (trace, wrapped)', () => {
    const run = twincard(['create-wallet', '--trust-test-root', ...on(0)], withPin);
    expectPlainResult(run, [new RegExp(`^wallet created on card ${idA}$`, 'm'), /^wallet public key 04[0-9A-F]{128}$/m], [/\[wrapped\]/]);
  });

  test('sign: r, s, DER and the key on stdout; --json one document', () => {
    const digest = '5A'.repeat(32);
    expectPlainResult(twincard(['sign', '--trust-test-root', '--digest', digest, ...on(0)], withPin), [
      /^signed by card [0-9A-F]{16} \(signature #1\)/m,
      /^r {6}[0-9A-F]{64}$/m,
      /^s {6}[0-9A-F]{64}$/m,
      /^der {4}30[0-9A-F]+$/m,
      /^pubkey 04[0-9A-F]{128}$/m,
    ]);
    expect(
      expectJsonResult<{ signCounter: number }>(twincard(['sign', '--trust-test-root', '--digest', digest, '--json', ...on(0)], withPin))
        .signCounter,
    ).toBe(2);
  });

  test('change-code: the card changed on stdout; and back again with --json', () => {
    expectPlainResult(twincard(['change-code', '--trust-test-root', ...on(0)], { TWINCARD_PIN: PIN, TWINCARD_NEW_PIN: NEW_PIN }), [
      new RegExp(`^access code changed on card ${idA} \\(this card only\\)$`, 'm'),
    ]);
    const back = twincard(['change-code', '--trust-test-root', '--json', ...on(0)], { TWINCARD_PIN: NEW_PIN, TWINCARD_NEW_PIN: PIN });
    expect(expectJsonResult<{ changed: string[] }>(back).changed).toEqual([idA]);
  });

  test('apdu: each answer on stdout; --json the exchanges', () => {
    const select = '00A404000AF07477696E636172640100';
    expectPlainResult(twincard(['apdu', select, ...on(0)]), [/^[0-9A-F]+ 9000 {2}/m], [TRACED]);
    expect(expectJsonResult<{ exchanges: { sw: string }[] }>(twincard(['apdu', select, '--json', ...on(0)])).exchanges[0]?.sw).toBe('9000');
  });

  test('conformance (two read-only checks): the PASS lines and the summary on stdout; --json the report', () => {
    const args = ['conformance', '--only', 'select/answer,read/answer', ...on(0)];
    expectPlainResult(
      twincard(args),
      [/^PASS {2}select\/answer/m, /^PASS {2}read\/answer/m, /^2 checks: 2 passed, 0 failed/m],
      [/^conformance: /m],
    );
    expect(expectJsonResult<{ conforms: boolean }>(twincard([...args, '--json'])).conforms).toBe(true);
  });

  test('backup (a reader per card): progress on stderr, "backup complete" on stdout', () => {
    const run = twincard(['backup', '--backups', '1', '--trust-test-root', '--journal', journal, ...on(1), ...on(0)], withPin);
    expectPlainResult(
      run,
      [/^backup complete in [\d.]+ s: the wallet 04[0-9A-F]{128} is on 2 cards$/m],
      [/^step 1\/3 done: prepare-backup-1$/m],
    );
  });

  test('reset --force: the erasure on stdout, what is known of other copies on stderr; --json on the backup card', () => {
    expectPlainResult(
      twincard(['reset', '--force', '--trust-test-root', ...on(0)], withPin),
      [new RegExp(`^card ${idA} reset: the wallet is erased`, 'm')],
      [new RegExp(`^card ${idA} is the primary of this wallet; its backup cards ${idB}`, 'm')],
    );
    expect(
      expectJsonResult<{ state: string }>(twincard(['reset', '--force', '--trust-test-root', '--json', ...on(1)], withPin)).state,
    ).toBe('BLANK');
  });

  test('cancel-backup on a BLANK card: "nothing to cancel" on stdout; --json the document', () => {
    expectPlainResult(twincard(['cancel-backup', '--journal', journal, ...on(0)]), [
      new RegExp(`^card ${idA} is BLANK: nothing to cancel$`, 'm'),
    ]);
    const doc = expectJsonResult<{ cancelled: boolean; journal: string }>(
      twincard(['cancel-backup', '--journal', journal, '--json', ...on(1)]),
    );
    expect(doc).toMatchObject({ cancelled: false, journal: 'none' });
  });

  test('bench (one round, 1+1): the report on stdout, the rounds as they end on stderr', () => {
    const run = twincard(['bench', '--virtual', '--rounds', '1', '--backups', '1', '--readers', `${readerForCard(0)},${readerForCard(1)}`]);
    expectPlainResult(
      run,
      [
        /^bench: 1 group\(s\) of 2 readers in parallel, 1 round\(s\), 1\+1 backups$/m,
        /^throughput +[\d.]+ backups\/s \(1 ok, 0 failed, of 1;/m,
      ],
      [/^round 1\/1: [\d.]+ ms$/m],
    );
  });
});
