/** `twincard --version`: package.json's version, read at run time, and the card protocol; a broken manifest is named. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeVersion, versionDocument } from '../../../src/cli/version.js';

const dir = mkdtempSync(join(tmpdir(), 'twincard-version-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the package's own version and protocol 2", () => {
  const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as {
    version: string;
  };
  const doc = versionDocument();
  expect(doc).toEqual({ name: 'twincard', version: manifest.version, protocol: 2 });
  expect(describeVersion(doc)).toBe(`twincard ${manifest.version} (card protocol 2)`);
});

test('a manifest without a version string is an error naming the file', () => {
  for (const [name, text] of [
    ['none.json', '{"name":"twincard"}'],
    ['number.json', '{"version":1}'],
    ['array.json', '[]'],
  ] as const) {
    const path = join(dir, name);
    writeFileSync(path, text);
    expect(() => versionDocument(path)).toThrow(`${path}: no "version" string`);
  }
});
