/**
 * The `twincard` command as a user runs it (the built dist/, a child process), against the virtual cards:
 * output channels, --json, --trace and the documented exit codes.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readerForCard, repoRoot } from './support/sim.js';

function twincard(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), ...args], {
    env: { ...process.env, TWINCARD_TRACE: '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('readers --json: one document on stdout listing the cards with their ATR', () => {
  const { code, stdout } = twincard(['readers', '--json']);
  expect(code).toBe(0);
  const doc = JSON.parse(stdout) as { readers: { name: string; card: boolean; atr: string | null }[] };
  for (const k of [0, 1, 2, 3]) {
    expect(doc.readers.find((r) => r.name === readerForCard(k))).toMatchObject({
      card: true,
      atr: '3B8A80017477696E6361726400011A',
    });
  }
});

test('apdu --trace: the trace on stderr, the answers in --json, GET RESPONSE done for the user', () => {
  const { code, stdout, stderr } = twincard([
    'apdu',
    '--reader',
    readerForCard(0),
    '--trace',
    '--json',
    '00A404000AF07477696E63617264FE00',
    '800201F400',
  ]);
  expect(code).toBe(0);
  const doc = JSON.parse(stdout) as { exchanges: { sw: string; data: string }[] };
  expect(doc.exchanges.map((e) => e.sw)).toEqual(['9000', '9000']);
  expect(doc.exchanges[1]!.data.length).toBe(500 * 2);
  expect(stderr).toContain('>> 00A40400 0A F07477696E63617264FE 00');
  expect(stderr).toMatch(/>> 00C00000 F4/);
  expect(stderr).toMatch(new RegExp(`^# connect ${readerForCard(0)} ATR 3B8A`, 'm'));
});

test('apdu --json hides an access code the way the trace does, on stdout and stderr', () => {
  // ISO VERIFY (INS 20) carries a PIN on any card; the loopback applet refuses it, which does not matter here.
  const { stdout, stderr } = twincard(['apdu', '--reader', readerForCard(0), '--json', '--trace', '002000800831323334353637FF']);
  const doc = JSON.parse(stdout) as { exchanges: { command: string }[] };
  expect(doc.exchanges[0]!.command).toBe('0020008008 [redacted 8 bytes]'); // header and Lc as sent, like the conformance report
  expect(stdout + stderr).not.toContain('31323334353637');
});

test.each([
  [['apdu', '--reader', 'no such reader', '00A4040000'], {}, 4, /no reader matches "no such reader"/],
  [['apdu', '--reader', 'Virtual', '00A4040000'], {}, 4, /readers match "Virtual": be more specific/],
  [['apdu', '--reader', readerForCard(0), '00A4'], {}, 2, /APDU #1 \(00A4\)/],
  [['readers'], { PCSCLITE_CSOCK_NAME: '/nonexistent/pcscd.comm' }, 3, /is pcscd running\?/],
  [['frobnicate'], {}, 2, /Unknown argument|unknown/i],
] as const)('%j (env %j) exits %i with a one-line reason', (args, env, exitCode, message) => {
  const { code, stdout, stderr } = twincard([...args], env);
  expect(code).toBe(exitCode);
  expect(stderr).toMatch(message);
  expect(stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  expect(stdout).toBe('');
});
