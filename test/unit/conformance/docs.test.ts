/** docs/conformance-checks.md lists the checks the code has: the list is generated, and this keeps it so. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listChecks, loadInvalidPointFixture, renderChecksDocument } from '../../../src/conformance/index.js';

const points = loadInvalidPointFixture(join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json')).points;

test('docs/conformance-checks.md is `twincard conformance --list` (TWINCARD_UPDATE_DOCS=1 regenerates it)', () => {
  const path = join(process.cwd(), 'docs', 'conformance-checks.md');
  const want = renderChecksDocument(listChecks(points));
  if (process.env['TWINCARD_UPDATE_DOCS'] === '1') writeFileSync(path, want);
  expect(readFileSync(path, 'utf8')).toBe(want);
});

test('docs/conformance.md names only checks that exist (each id or id/* it cites)', () => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'conformance.md'), 'utf8');
  const ids = listChecks(points).map((c) => c.id);
  const groups = new Set(ids.map((id) => id.split('/')[0]!));
  // Paths in the repository look the same (`src/protocol`): only what starts with a check group is a check.
  const cited = [...doc.matchAll(/`((?:[a-z0-9-]+\/)+(?:[a-z0-9-]+|\*))`/g)].map((m) => m[1]!).filter((c) => groups.has(c.split('/')[0]!));
  expect(cited.length).toBeGreaterThan(20);
  for (const c of cited) {
    const ok = c.endsWith('/*') ? ids.some((id) => id.startsWith(c.slice(0, -1))) : ids.includes(c);
    if (!ok) throw new Error(`docs/conformance.md cites ${c}, which is no check`);
  }
});
