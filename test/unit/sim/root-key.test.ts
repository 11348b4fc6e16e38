/** The root a virtual card is installed with, read from a PEM file: only a secp256k1 key, else a clear error. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPointHex, RootKeyError } from '../../../src/sim/index.js';

const FIXTURES = join(process.cwd(), 'fixtures', 'test-manufacturer');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'twincard-root-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('a public key PEM and its private key PEM give the same 65-byte point', () => {
  const fromPublic = rootPointHex(join(FIXTURES, 'public-key.pem'));
  expect(fromPublic).toMatch(/^04[0-9A-F]{128}$/);
  expect(rootPointHex(join(FIXTURES, 'private-key.pem'))).toBe(fromPublic);
  expect(rootPointHex(join(FIXTURES, 'other-public-key.pem'))).not.toBe(fromPublic);
});

test('a coordinate with leading zero bytes keeps its 32 bytes', () => {
  // 20 random keys: about 1 in 128 has an X or Y below 2^248; the point is checked against the key's own DER either way.
  for (let i = 0; i < 20; i++) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const path = join(dir, `k${i}.pem`);
    writeFileSync(path, publicKey.export({ type: 'spki', format: 'pem' }));
    const der = publicKey.export({ type: 'spki', format: 'der' });
    expect(rootPointHex(path)).toBe(
      der
        .subarray(der.length - 65)
        .toString('hex')
        .toUpperCase(),
    );
  }
});

test.each([
  ['no such file', () => join(dir, 'missing.pem'), /^root .*missing\.pem: no such file$/],
  ['not a PEM key', () => join(FIXTURES, 'README.md'), /: not a PEM public or private key$/],
  [
    'a P-256 key',
    () => {
      const path = join(dir, 'p256.pem');
      writeFileSync(path, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }));
      return path;
    },
    /: not a secp256k1 key \(ec prime256v1\)$/,
  ],
  [
    'an Ed25519 key',
    () => {
      const path = join(dir, 'ed.pem');
      writeFileSync(path, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
      return path;
    },
    /: not a secp256k1 key \(ed25519\)$/,
  ],
])('%s: RootKeyError naming the file', (_what, file, message) => {
  const path = file();
  expect(() => rootPointHex(path)).toThrow(RootKeyError);
  expect(() => rootPointHex(path)).toThrow(message);
});
