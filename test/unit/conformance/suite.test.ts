/**
 * The catalogue itself: stable kebab-case ids, section 3's table turned into state checks, the running
 * order, --only patterns, and the recorder that keeps secrets out of the report.
 */
import { join } from 'node:path';
import { ReplayTransport } from '../../../src/readers/transcript.js';
import { buildSuite, listChecks, loadInvalidPointFixture, matchesOnly } from '../../../src/conformance/index.js';
import { REFUSED } from '../../../src/conformance/checks/state-machine.js';
import { RecordingTransport } from '../../../src/conformance/recorder.js';
import { fromHex } from '../../../src/apdu/index.js';

const points = loadInvalidPointFixture(join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json')).points;

test('every id is kebab-case with / between levels, unique, and the suite is 282 checks', () => {
  const checks = listChecks(points);
  expect(checks).toHaveLength(282);
  for (const c of checks) expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/);
  expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
});

test('section 3: 63 refusals across the 7 states (IMPORT_WALLET of another blob in a backup card included), each a state/<state>/<command> check', () => {
  const ids = new Set(listChecks(points).map((c) => c.id));
  let n = 0;
  for (const [state, commands] of Object.entries(REFUSED)) {
    for (const cmd of commands) {
      n++;
      expect(ids.has(`state/${state.toLowerCase().replace(/_/g, '-')}/${cmd.toLowerCase().replace(/_/g, '-')}`)).toBe(true);
    }
  }
  expect(n).toBe(63);
  // Spot checks against the protocol's table: a primary's FINALIZE in BACKED_UP is allowed (idempotent),
  // a backup card's is not; ATTEST is refused only in FACTORY.
  expect(REFUSED.BACKED_UP_PRIMARY).not.toContain('FINALIZE_BACKUP');
  expect(REFUSED.BACKED_UP_BACKUP).toContain('FINALIZE_BACKUP');
  expect(Object.entries(REFUSED).filter(([, c]) => c.includes('ATTEST')).map(([s]) => s)).toEqual(['FACTORY']);
});

test('one Wycheproof point = one check for EP and one for EB; destructive checks say so', () => {
  const checks = listChecks(points);
  for (const p of points) {
    expect(checks.find((c) => c.id === `invalid-point/link-primary-ep/wycheproof-${p.tcId}`)).toBeDefined();
    expect(checks.find((c) => c.id === `invalid-point/link-backup-eb/wycheproof-${p.tcId}`)).toBeDefined();
  }
  expect(checks.filter((c) => c.destructive).map((c) => c.id).sort()).toEqual([
    'backup-abort/after-export', 'backup-abort/answer', 'backup-start/answer', 'create-wallet/answer', 'export/answer', 'finalize/relinked-not-exported', 'import/answer',
    'link-backup/answer', 'link-primary/answer',
    'peer/backup-from-peer', 'peer/backup-to-peer', 'peer/replayed-eb', 'peer/swapped-eb', 'peer/tampered-blob',
    'perso/answer', 'perso/commit-invalid-manufacturer-key', 'perso/commit-trailing-byte', 'perso/commit-wrong-signature',
    'perso/generate-again', 'sign/answer', 'verify-pin/brute-force',
  ]);
});

test('the running order: personalization before the backup-card role, that before the primary role, the brute force last but the peer', () => {
  const ids = buildSuite(points).map((c) => c.id);
  const at = (id: string) => ids.indexOf(id);
  expect(at('perso/answer')).toBeLessThan(at('link-primary/answer'));
  expect(at('link-primary/answer')).toBeLessThan(at('import/answer'));
  expect(at('import/answer')).toBeLessThan(at('create-wallet/answer'));
  expect(at('create-wallet/answer')).toBeLessThan(at('export/answer'));
  expect(at('verify-pin/brute-force')).toBe(ids.findIndex((id) => id.startsWith('peer/')) - 1);
});

test.each([
  ['import/tampered-tag', undefined, true],
  ['import/tampered-tag', '', true],
  ['import/tampered-tag', 'import/', true],
  ['import/tampered-tag', 'export/,import/tamp', true],
  ['import/tampered-tag', 'link-', false],
  ['invalid-point/link-backup-eb/wycheproof-475', '*wycheproof-475', true],
  ['invalid-point/link-backup-eb/wycheproof-475', 'invalid-point/*/x-is-p', false],
  ['state/blank/sign', 'state/*/sign', true],
  ['state/blank/sign.x', 'state/*/sign', false],
] as const)('matchesOnly(%j, %j) = %j', (id, only, want) => {
  expect(matchesOnly(id, only)).toBe(want);
});

test('the recorder keeps the header and hides the access code and the wallet blob; response data is never kept', async () => {
  const transcript = [
    '=> 8020000008 3230323631313235',
    '<= 9000',
    '=> 80320000 20 0000000000000000000000000000000000000000000000000000000000000000 00',
    '<= 0B0830060201010201010704000000019000',
  ].join('\n');
  const rec = new RecordingTransport(new ReplayTransport(transcript));
  await rec.transmit(fromHex('80200000083230323631313235'));
  await rec.transmit(fromHex('8032000020000000000000000000000000000000000000000000000000000000000000000000'));
  expect(rec.log).toEqual([
    { command: '8020000008 [redacted 8 bytes]', sw: '9000', responseBytes: 0 },
    { command: '8032000020000000000000000000000000000000000000000000000000000000000000000000', sw: '9000', responseBytes: 16 },
  ]);
  rec.clear();
  expect(rec.log).toEqual([]);
});
