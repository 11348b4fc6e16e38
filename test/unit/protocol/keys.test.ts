import { secp256k1 } from '@noble/curves/secp256k1.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { InvalidPointError, KeyFormatError } from '../../../src/protocol/errors.js';
import {
  decodePem,
  encodePem,
  encodeSpki,
  keyPairFromPem,
  keyPairToPem,
  parseSpki,
  publicKeyFromPem,
  publicKeyToPem,
} from '../../../src/protocol/keys.js';
import { rootFromPem, TEST_MANUFACTURER_ROOT_PEM, testManufacturerRoot, trustedRoots } from '../../../src/protocol/roots.js';
import { flip } from './bytes-helpers.js';

const fixture = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../fixtures/test-manufacturer/${name}`, import.meta.url)), 'utf8');

// `openssl pkey -text` of fixtures/test-manufacturer/private-key.pem
const TEST_D = '35E1B31C0DAB6F2EB39C080BABDA73FB7142B41F8AD74095FB232C78A30E6625';
const TEST_Q =
  '04C5BB138E45EC607D598BE359468A24490D691337F45815DF86D883082C9D4B1BAC6D42CBD120DDB01AB36B1095B6BC092EE1261628D5876C802CB14CE690DFAE';

// The same key as SEC1, from `openssl ec -in private-key.pem`.
const TEST_SEC1_PEM = `-----BEGIN EC PRIVATE KEY-----
MHQCAQEEIDXhsxwNq28us5wIC6vac/txQrQfitdAlfsjLHijDmYloAcGBSuBBAAK
oUQDQgAExbsTjkXsYH1Zi+NZRookSQ1pEzf0WBXfhtiDCCydSxusbULL0SDdsBqz
axCVtrwJLuEmFijVh2yALLFM5pDfrg==
-----END EC PRIVATE KEY-----
`;

// openssl-generated keys of the wrong kind.
const P256_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEunQgJfcu/T6qy58SjPSUxc2GsFuW
MjeTR9Tk601k0An3q8XSIjmHJVcpLX8NaIz6tSeRUeHJ3WZjPUWUum1QCg==
-----END PUBLIC KEY-----
`;
const P256_SEC1_PEM = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIKBIqZYIBYWs+4MNUrfOIDncvJGFpN40Z1xJtIbMBAonoAoGCCqGSM49
AwEHoUQDQgAEunQgJfcu/T6qy58SjPSUxc2GsFuWMjeTR9Tk601k0An3q8XSIjmH
JVcpLX8NaIz6tSeRUeHJ3WZjPUWUum1QCg==
-----END EC PRIVATE KEY-----
`;
const COMPRESSED_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MDYwEAYHKoZIzj0CAQYFK4EEAAoDIgACxbsTjkXsYH1Zi+NZRookSQ1pEzf0WBXf
htiDCCydSxs=
-----END PUBLIC KEY-----
`;
const ED25519_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAjec+cGNz0myKQgwvSQ8LtQDLnYmGiFwItLA8xeaA47U=
-----END PUBLIC KEY-----
`;
// secp256k1 with explicit curve parameters (`-param_enc explicit`): refused, only named curves.
const EXPLICIT_SPKI_PEM = `-----BEGIN PUBLIC KEY-----
MIIBMzCB7AYHKoZIzj0CATCB4AIBATAsBgcqhkjOPQEBAiEA////////////////
/////////////////////v///C8wRAQgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
AAAAAAAAAAAEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAHBEEEeb5m
fvncu6xVoGKVzocLBwKb/NstzijZWfKBWxb4F5hIOtp3JqPEZV2k+/wOEQio/Re0
SKaFVBmcR9CP+xDUuAIhAP////////////////////66rtzmr0igO7/SXozQNkFB
AgEBA0IABFUjYPNZnSucwW823WRsmS1+ZmoxhUq6V757iFzkZAfZccHd6Fz3BCm4
D8ANkLZiBkeVeO9JtlaFtSIIDXUXCqE=
-----END PUBLIC KEY-----
`;

const spkiDer = (): Uint8Array => decodePem(TEST_MANUFACTURER_ROOT_PEM, ['PUBLIC KEY']).der;

describe('test manufacturer fixture', () => {
  test('the PKCS#8 private key, its SEC1 form and the public key agree', () => {
    const pkcs8 = keyPairFromPem(fixture('private-key.pem'));
    const sec1 = keyPairFromPem(TEST_SEC1_PEM);
    expect(toHex(pkcs8.privateKey)).toBe(TEST_D);
    expect(toHex(pkcs8.publicKey)).toBe(TEST_Q);
    expect(toHex(sec1.privateKey)).toBe(TEST_D);
    expect(toHex(sec1.publicKey)).toBe(TEST_Q);
    expect(toHex(publicKeyFromPem(fixture('public-key.pem')))).toBe(TEST_Q);
  });

  test('roots.ts carries exactly the fixture public key, marked as a test root', () => {
    expect(TEST_MANUFACTURER_ROOT_PEM).toBe(fixture('public-key.pem'));
    const root = testManufacturerRoot();
    expect(toHex(root.publicKey)).toBe(TEST_Q);
    expect(root.test).toBe(true);
  });

  test('the test root is trusted only when asked', () => {
    expect(trustedRoots()).toHaveLength(0);
    expect(trustedRoots({ trustTestRoot: false })).toHaveLength(0);
    expect(trustedRoots({ trustTestRoot: true }).map((r) => toHex(r.publicKey))).toEqual([TEST_Q]);
  });
});

describe('SubjectPublicKeyInfo', () => {
  test('encodeSpki reproduces the OpenSSL encoding byte for byte', () => {
    expect(toHex(encodeSpki(fromHex(TEST_Q)))).toBe(toHex(spkiDer()));
    expect(publicKeyToPem(fromHex(TEST_Q))).toBe(TEST_MANUFACTURER_ROOT_PEM);
  });

  test.each([
    ['P-256', P256_SPKI_PEM, 'curve P-256 (prime256v1) (1.2.840.10045.3.1.7) is not secp256k1 (1.3.132.0.10)'],
    ['Ed25519', ED25519_SPKI_PEM, 'algorithm Ed25519 (1.3.101.112) is not id-ecPublicKey'],
    ['explicit parameters', EXPLICIT_SPKI_PEM, 'curve parameters are not a named curve OID (explicit parameters are not accepted)'],
    ['a compressed point', COMPRESSED_SPKI_PEM, 'compressed point'],
  ])('refuses %s with a clear error', (_name, pem, message) => {
    expect(() => rootFromPem(pem, 'acme.pem')).toThrow(KeyFormatError);
    expect(() => rootFromPem(pem, 'acme.pem')).toThrow(`acme.pem: ${message}`);
  });

  test('refuses a point that is not on the curve', () => {
    const der = spkiDer();
    flip(der, der.length - 1, 1);
    expect(() => parseSpki(der)).toThrow(InvalidPointError);
  });

  test('refuses trailing bytes and non-canonical DER', () => {
    const der = spkiDer();
    expect(() => parseSpki(Uint8Array.from([...der, 0]))).toThrow('1 trailing bytes after the DER');
    // 30 56 -> 30 81 56: same content, long-form length
    const longForm = Uint8Array.from([0x30, 0x81, ...der.subarray(1)]);
    expect(() => parseSpki(longForm)).toThrow('not in canonical DER form');
    expect(() => parseSpki(der.subarray(0, 40))).toThrow(KeyFormatError);
  });

  test('a private key PEM is not a public key', () => {
    expect(() => publicKeyFromPem(TEST_SEC1_PEM, 'key.pem')).toThrow(
      'key.pem: expected a PEM block "PUBLIC KEY", found only "EC PRIVATE KEY"',
    );
  });
});

describe('PEM armour', () => {
  test('skips explanatory text and other blocks', () => {
    const text =
      `Test root\n-----BEGIN EC PARAMETERS-----\nBgUrgQQACg==\n-----END EC PARAMETERS-----\n` + `${TEST_MANUFACTURER_ROOT_PEM}trailer\n`;
    expect(toHex(publicKeyFromPem(text))).toBe(TEST_Q);
  });

  test.each([
    ['no block', 'hello', 'expected a PEM block "PUBLIC KEY", found no PEM block at all'],
    ['two blocks', TEST_MANUFACTURER_ROOT_PEM + TEST_MANUFACTURER_ROOT_PEM, 'expected one PEM block "PUBLIC KEY", found 2'],
    [
      'BEGIN/END mismatch',
      TEST_MANUFACTURER_ROOT_PEM.replace('END PUBLIC KEY', 'END PRIVATE KEY'),
      'BEGIN PUBLIC KEY closed by END PRIVATE KEY',
    ],
    ['a non-base64 character', TEST_MANUFACTURER_ROOT_PEM.replace('MFYw', 'MF*w'), 'invalid base64'],
    ['misplaced padding', TEST_MANUFACTURER_ROOT_PEM.replace('MFYw', 'MF=w'), 'invalid base64'],
  ])('refuses %s', (_name, pem, message) => {
    expect(() => decodePem(pem, ['PUBLIC KEY'], 'root.pem')).toThrow(KeyFormatError);
    expect(() => decodePem(pem, ['PUBLIC KEY'], 'root.pem')).toThrow(new RegExp(`^root.pem( \\(PUBLIC KEY\\))?: ${message}`));
  });

  test('TypeError for a non-string', () => {
    expect(() => decodePem(new Uint8Array(1) as unknown as string, ['PUBLIC KEY'])).toThrow(TypeError);
  });
});

describe('EC private keys', () => {
  test('keyPairToPem writes what keyPairFromPem reads, and OpenSSL wrote the same', () => {
    const pair = keyPairFromPem(TEST_SEC1_PEM);
    expect(keyPairToPem(pair)).toBe(TEST_SEC1_PEM);
  });

  test('refuses a P-256 key', () => {
    expect(() => keyPairFromPem(P256_SEC1_PEM, 'p256.pem')).toThrow(
      'p256.pem: curve P-256 (prime256v1) (1.2.840.10045.3.1.7) is not secp256k1',
    );
  });

  test('refuses an embedded public key that belongs to another private key', () => {
    const der = decodePem(TEST_SEC1_PEM, ['EC PRIVATE KEY']).der;
    const hex = toHex(der).replace(TEST_Q, toHex(secp256k1.Point.BASE.toBytes(false)));
    expect(() => keyPairFromPem(encodePem('EC PRIVATE KEY', fromHex(hex)))).toThrow(
      'the embedded public key does not belong to the private key',
    );
  });

  test('refuses d = 0 and a 31-byte key', () => {
    const withoutPublicKey = (d: string, lengthByte: string): Uint8Array =>
      fromHex(`30${(d.length / 2 + 2 + 3 + 9).toString(16).padStart(2, '0')}020101 04${lengthByte}${d} A00706052B8104000A`);
    expect(keyPairFromPem(encodePem('EC PRIVATE KEY', withoutPublicKey(TEST_D, '20'))).publicKey).toEqual(fromHex(TEST_Q));
    expect(() => keyPairFromPem(encodePem('EC PRIVATE KEY', withoutPublicKey('00'.repeat(32), '20')))).toThrow(
      'private key: not in 1..n-1',
    );
    expect(() => keyPairFromPem(encodePem('EC PRIVATE KEY', withoutPublicKey(TEST_D.slice(2), '1F')))).toThrow(
      'expected a 32-byte private key, got 31',
    );
  });

  test('refuses SEC1 without the curve, and a wrong version', () => {
    const noCurve = fromHex(`3025020101 0420${TEST_D}`);
    expect(() => keyPairFromPem(encodePem('EC PRIVATE KEY', noCurve))).toThrow('without [0] parameters: the curve is unknown');
    const version2 = fromHex(`302E020102 0420${TEST_D} A00706052B8104000A`);
    expect(() => keyPairFromPem(encodePem('EC PRIVATE KEY', version2))).toThrow('ECPrivateKey version: expected 1, got 2');
  });
});
