/**
 * The catalogue itself: stable kebab-case ids, section 3's table turned into state checks, the running
 * order, --only patterns, and the recorder that keeps secrets out of the report.
 */
import { join } from 'node:path';
import { ReplayTransport } from '../../../src/readers/transcript.js';
import { buildSuite, listChecks, loadInvalidPointFixture, matchesOnly } from '../../../src/conformance/index.js';
import { REFUSED } from '../../../src/conformance/checks/state-machine.js';
import { CheckRecorder } from '../../../src/conformance/recorder.js';
import { fromHex } from '../../../src/apdu/index.js';

const points = loadInvalidPointFixture(join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json')).points;

test('every id is kebab-case with / between levels, unique, and the suite is 370 checks, 23 destructive', () => {
  const checks = listChecks(points);
  expect(checks).toHaveLength(370);
  for (const c of checks) expect(c.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/);
  expect(new Set(checks.map((c) => c.id)).size).toBe(checks.length);
});

test(
  'section 3: 59 refusals across the 7 states (BACKED_UP split by origin), ' +
    'each a state/<state>/<command> check, and v1 INS 50..5E in every state',
  () => {
    const ids = new Set(listChecks(points).map((c) => c.id));
    let n = 0;
    for (const [state, commands] of Object.entries(REFUSED)) {
      const s = state.toLowerCase().replace(/_/g, '-');
      expect(ids.has(`state/${s}/v1-backup-ins`)).toBe(true);
      for (const cmd of commands) {
        n++;
        expect(ids.has(`state/${s}/${cmd.toLowerCase().replace(/_/g, '-')}`)).toBe(true);
      }
    }
    expect(n).toBe(59);
    // Spot checks against the protocol's table: a primary's FINALIZE in BACKED_UP is allowed (idempotent), a
    // backup card's is not; IMPORT in BACKED_UP only for the card that imported (its own blob again); EXPORT
    // in WALLET and BACKUP_EXPORTING only; ATTEST refused only in FACTORY; no v1 command is left.
    expect(REFUSED.BACKED_UP_PRIMARY).not.toContain('BACKUP_FINALIZE');
    expect(REFUSED.BACKED_UP_BACKUP).toContain('BACKUP_FINALIZE');
    expect(REFUSED.BACKED_UP_PRIMARY).toContain('BACKUP_IMPORT');
    expect(
      Object.entries(REFUSED)
        .filter(([, c]) => !c.includes('BACKUP_EXPORT'))
        .map(([s]) => s),
    ).toEqual(['WALLET', 'BACKUP_EXPORTING']);
    expect(
      Object.entries(REFUSED)
        .filter(([, c]) => c.includes('ATTEST'))
        .map(([s]) => s),
    ).toEqual(['FACTORY']);
    expect(
      Object.entries(REFUSED)
        .filter(([, c]) => !c.includes('BACKUP_CANCEL'))
        .map(([s]) => s),
    ).toEqual(['BLANK', 'BACKUP_PENDING']);
    // RESET: WALLET and BACKED_UP (either origin) only; BACKUP_EXPORTING finishes its backup first.
    expect(
      Object.entries(REFUSED)
        .filter(([, c]) => !c.includes('RESET'))
        .map(([s]) => s),
    ).toEqual(['WALLET', 'BACKED_UP_PRIMARY', 'BACKED_UP_BACKUP']);
    expect(
      Object.entries(REFUSED)
        .filter(([, c]) => c.includes('OPEN_SESSION'))
        .map(([s]) => s),
    ).toEqual(['FACTORY']);
  },
);

test(
  'no version 1 check is left; one Wycheproof point = one check for ' + 'EB (export) and one for EP (import); destructive checks say so',
  () => {
    const checks = listChecks(points);
    const ids = checks.map((c) => c.id);
    expect(ids.filter((id) => /link|abort|export-wallet|import-wallet|backup-start|finalize-backup|relinked/.test(id))).toEqual([]);
    for (const p of points) {
      expect(ids).toContain(`invalid-point/export-eb/wycheproof-${p.tcId}`);
      expect(ids).toContain(`invalid-point/import-ep/wycheproof-${p.tcId}`);
    }
    expect(
      checks
        .filter((c) => c.destructive)
        .map((c) => c.id)
        .sort(),
    ).toEqual([
      'change-code/answer',
      'create-wallet/answer',
      'export/answer',
      'export/second-card',
      'finalize/answer',
      'import/answer',
      'peer/backup-from-peer',
      'peer/backup-to-peer',
      'peer/stale-eb',
      'peer/substituted-eb',
      'peer/tampered-blob',
      'perso/answer',
      'perso/commit-keys-swapped',
      'perso/commit-other-manufacturer',
      'perso/commit-trailing-byte',
      'perso/commit-wrong-signature',
      'perso/generate-again',
      'prepare/answer',
      'reset/backed-up-backup',
      'reset/backed-up-primary',
      'reset/wallet',
      'sign/answer',
      'verify-pin/brute-force',
    ]);
  },
);

test('the running order: personalization, then the backup-card role, then the primary role, the brute force last but the peer', () => {
  const ids = buildSuite(points).map((c) => c.id);
  const at = (id: string) => ids.indexOf(id);
  expect(at('perso/answer')).toBeLessThan(at('prepare/answer'));
  expect(at('prepare/answer')).toBeLessThan(at('import/answer'));
  expect(at('import/answer')).toBeLessThan(at('create-wallet/answer'));
  expect(at('create-wallet/answer')).toBeLessThan(at('export/answer'));
  expect(at('export/answer')).toBeLessThan(at('finalize/answer'));
  expect(at('verify-pin/brute-force')).toBe(ids.findIndex((id) => id.startsWith('peer/')) - 1);
  // Every wrapped-only command sent plain and every plain-only command sent wrapped has its check.
  expect(ids.filter((id) => id.startsWith('session/plain-refused/'))).toHaveLength(7);
  expect(ids.filter((id) => id.startsWith('session/wrapped-refused/'))).toHaveLength(8);
});

test.each([
  ['import/tampered-tag', undefined, true],
  ['import/tampered-tag', '', true],
  ['import/tampered-tag', 'import/', true],
  ['import/tampered-tag', 'export/,import/tamp', true],
  ['import/tampered-tag', 'export/', false],
  ['invalid-point/export-eb/wycheproof-475', '*wycheproof-475', true],
  ['invalid-point/export-eb/wycheproof-475', 'invalid-point/*/x-is-p', false],
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
    '=> 9066000004 01020304',
    '<= 9000',
  ].join('\n');
  const rec = new CheckRecorder(new ReplayTransport(transcript));
  await rec.transmit(fromHex('80200000083230323631313235'));
  await rec.transmit(fromHex('8032000020000000000000000000000000000000000000000000000000000000000000000000'));
  await rec.transmit(fromHex('906600000401020304'));
  expect(rec.log).toEqual([
    { command: '8020000008 [redacted 8 bytes]', sw: '9000', responseBytes: 0 },
    { command: '8032000020000000000000000000000000000000000000000000000000000000000000000000', sw: '9000', responseBytes: 16 },
    // A chained block of BACKUP_IMPORT (CLA 90) carries part of a wallet blob.
    { command: '9066000004 [redacted 4 bytes]', sw: '9000', responseBytes: 0 },
  ]);
  rec.clear();
  expect(rec.log).toEqual([]);
});
