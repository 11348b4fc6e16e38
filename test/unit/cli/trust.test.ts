import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { UsageError } from '../../../src/cli/errors.js';
import { hexArgument } from '../../../src/cli/hex-arg.js';
import { loadTrustedRoots, readTrustConfig, trustConfigPath } from '../../../src/cli/trust.js';
import { publicKeyOf } from '../../../src/protocol/crypto.js';
import { publicKeyToPem } from '../../../src/protocol/keys.js';
import { TEST_MANUFACTURER_ROOT_PEM } from '../../../src/protocol/roots.js';

const dir = mkdtempSync(join(tmpdir(), 'twincard-trust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const none = { TWINCARD_CONFIG: join(dir, 'absent.json') };

describe('trusted roots', () => {
  test('by default: no root at all (no production manufacturer yet), so nothing is genuine', () => {
    expect(loadTrustedRoots({ env: none })).toEqual([]);
  });

  test('--trust-test-root adds the TEST root, flagged test', () => {
    const roots = loadTrustedRoots({ trustTestRoot: true, env: none });
    expect(roots.map((r) => r.test)).toEqual([true]);
  });

  test('--root files: another manufacturer is not a test root; the TEST key given as a file still is', () => {
    const other = file('other.pem', publicKeyToPem(publicKeyOf(secp256k1.utils.randomSecretKey())));
    const test = file('test.pem', TEST_MANUFACTURER_ROOT_PEM);
    const roots = loadTrustedRoots({ rootFiles: [other, test], env: none });
    expect(roots.map((r) => [r.label, r.test])).toEqual([
      [other, false],
      [`${test} (the TEST manufacturer)`, true],
    ]);
  });

  test('a --root that is not a secp256k1 public key PEM is a usage error naming the file', () => {
    const bad = file('bad.pem', 'hello');
    expect(() => loadTrustedRoots({ rootFiles: [bad], env: none })).toThrow(UsageError);
    expect(() => loadTrustedRoots({ rootFiles: [bad], env: none })).toThrow(`--root ${bad}: `);
  });

  test('the config file: trustTestRoot and roots relative to its folder', () => {
    file('acme.pem', publicKeyToPem(publicKeyOf(secp256k1.utils.randomSecretKey())));
    const config = file('config.json', JSON.stringify({ trustTestRoot: true, roots: ['acme.pem'] }));
    expect(readTrustConfig({ TWINCARD_CONFIG: config })).toEqual({ path: config, trustTestRoot: true, rootFiles: [join(dir, 'acme.pem')] });
    expect(loadTrustedRoots({ env: { TWINCARD_CONFIG: config } }).map((r) => r.test)).toEqual([false, true]);
  });

  test.each([
    ['not json', '{', 'not JSON'],
    ['an array', '[]', 'expected a JSON object'],
    ['a typo', '{"trustTestRooot": true}', 'unknown key "trustTestRooot" (trustTestRoot, roots)'],
    ['a string for a boolean', '{"trustTestRoot": "yes"}', '"trustTestRoot" must be true or false'],
    ['roots not a list', '{"roots": "a.pem"}', '"roots" must be a list of PEM file paths'],
    ['an empty root path', '{"roots": [""]}', '"roots" must be a list of PEM file paths'],
  ])('a config with %s is refused', (_what, content, message) => {
    const config = file('bad-config.json', content);
    expect(() => readTrustConfig({ TWINCARD_CONFIG: config })).toThrow(message);
  });

  test('where the config is looked for', () => {
    expect(trustConfigPath({ TWINCARD_CONFIG: '/x/c.json' })).toBe('/x/c.json');
    expect(trustConfigPath({ XDG_CONFIG_HOME: '/xdg' })).toBe('/xdg/twincard/config.json');
    expect(trustConfigPath({ HOME: '/home/u' })).toMatch(/\/\.config\/twincard\/config\.json$/);
  });
});

describe('hex arguments', () => {
  test('exact size, either case, separators between bytes', () => {
    expect(hexArgument('--card-id', '01 02:03 04 05 06 07 0a', 8)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 10));
  });
  test.each([
    ['0102', '--card-id: expected 8 bytes (16 hex digits), got 2'],
    ['zz', '--card-id: '],
    ['010', '--card-id: '],
  ])('%j is a usage error', (text, message) => {
    expect(() => hexArgument('--card-id', text, 8)).toThrow(UsageError);
    expect(() => hexArgument('--card-id', text, 8)).toThrow(message);
  });
});
