/**
 * `twincard doctor` through the real stack: a card with the applet passes every check; a pulled card and an
 * untrusted setup each fail with the line that says what to do. Uses test card 3 (SELECT only, shared mode).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readerForCard, repoRoot, sim } from './support/sim.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const K = 3;

function doctor(args: readonly string[]) {
  const result = spawnSync(process.execPath, [CLI, 'doctor', '--json', '--reader', readerForCard(K), ...args], {
    env: { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1', TWINCARD_CONFIG: '/nonexistent/twincard.json' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return {
    code: result.status,
    doc: JSON.parse(result.stdout) as { ok: boolean; checks: { check: string; ok: boolean; detail: string; fix?: string }[] },
  };
}

test('a virtual card with the applet, the TEST root trusted: every line OK, the protocol version named', () => {
  const { code, doc } = doctor(['--trust-test-root']);
  expect(doc.ok).toBe(true);
  expect(code).toBe(0);
  expect(doc.checks.map((c) => c.check)).toEqual(['trusted roots', 'pcscd', `reader ${readerForCard(K)}`, `applet in ${readerForCard(K)}`]);
  expect(doc.checks[0]?.detail).toContain('TEST: proves nothing');
  expect(doc.checks[2]?.detail).toMatch(/^driver vpcd/);
  expect(doc.checks[3]?.detail).toMatch(/^AID F07477696E6361726401, protocol version \d+, state [A-Z_]+$/);
});

test('no trusted root: that line fails with what to do (exit 6), the card checks still run', () => {
  const { code, doc } = doctor([]);
  expect(code).toBe(6);
  expect(doc.checks[0]).toMatchObject({ check: 'trusted roots', ok: false, detail: 'none' });
  expect(doc.checks[3]).toMatchObject({ ok: true });
});

test('the card pulled: "no card" and how to present one (exit 5)', () => {
  sim('pull', K);
  try {
    const { code, doc } = doctor(['--trust-test-root']);
    expect(code).toBe(5);
    expect(doc.checks.at(-1)).toMatchObject({ check: `card in ${readerForCard(K)}`, ok: false, detail: 'no card' });
  } finally {
    sim('insert', K);
  }
}, 20_000);
