/** docs/conformance.md lists the checks the code has: the list is generated, and this keeps it so. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listChecks, loadInvalidPointFixture, renderList } from '../../../src/conformance/index.js';

test('the check list in docs/conformance.md is `twincard conformance --list`', () => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'conformance.md'), 'utf8');
  const block = /## The checks[\s\S]*?```text\n([\s\S]*?)```/.exec(doc)?.[1];
  const points = loadInvalidPointFixture(join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json')).points;
  const checks = listChecks(points);
  expect(block?.trimEnd()).toBe(renderList(checks));
  expect(doc).toContain(`Total: ${checks.length} checks, ${checks.filter((c) => c.destructive).length} destructive.`);
});
