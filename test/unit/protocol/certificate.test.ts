import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeProtocolTlvs, fromHex, toHex } from '../../../src/apdu/index.js';
import { encodeCertificate, findCertificateRoot, issueCertificate, parseCertificate } from '../../../src/protocol/certificate.js';
import { encodeDerSignature, parseDerSignature, publicKeyOf, SECP256K1_N } from '../../../src/protocol/crypto.js';
import { CertificateFormatError } from '../../../src/protocol/errors.js';
import { keyPairFromPem } from '../../../src/protocol/keys.js';
import { rootFromPem, testManufacturerRoot } from '../../../src/protocol/roots.js';
import { flip } from './bytes-helpers.js';

const manufacturer = keyPairFromPem(
  readFileSync(fileURLToPath(new URL('../../../fixtures/test-manufacturer/private-key.pem', import.meta.url)), 'utf8'),
);
const cardId = fromHex('0102030405060708');
const identityPublicKey = publicKeyOf(fromHex('11'.repeat(32)));
const attestationPublicKey = publicKeyOf(fromHex('33'.repeat(32)));
const cert = issueCertificate({ cardId, identityPublicKey, attestationPublicKey }, manufacturer.privateKey);

/** Re-encodes a certificate with its fields replaced, without the encoder's checks. */
function rawCertificate(fields: Array<[number, Uint8Array]>): Uint8Array {
  return encodeProtocolTlvs(fields);
}
const fields = (): Array<[number, Uint8Array]> => {
  const c = parseCertificate(cert);
  return [
    [0x10, Uint8Array.of(2)],
    [0x02, c.cardId],
    [0x0a, c.identityPublicKey],
    [0x0e, c.attestationPublicKey],
    [0x0b, c.signature],
  ];
};
const SIG = 4; // index of the signature field

/** A 157-byte certificate: the smallest DER signature (r = s = 1), so there is room to add bytes. */
const shortFields = (): Array<[number, Uint8Array]> => {
  const f = fields();
  f[SIG] = [0x0b, fromHex('3006020101020101')];
  return f;
};
const shortCert = (): Uint8Array => rawCertificate(shortFields());

describe('parseCertificate', () => {
  test('the smallest well-formed certificate is 157 bytes', () => {
    expect(shortCert().length).toBe(157);
    expect(parseCertificate(shortCert()).signature.length).toBe(8);
  });

  test('reads what issueCertificate wrote', () => {
    const c = parseCertificate(cert);
    expect(c.version).toBe(2);
    expect(toHex(c.cardId)).toBe('0102030405060708');
    expect(toHex(c.identityPublicKey)).toBe(toHex(identityPublicKey));
    expect(toHex(c.attestationPublicKey)).toBe(toHex(attestationPublicKey));
    expect(toHex(c.encoded)).toBe(toHex(cert));
    expect(toHex(cert.subarray(0, 3 + 10 + 2))).toBe('100102' + '02080102030405060708' + '0A41');
    expect(toHex(cert.subarray(80, 82))).toBe('0E41');
    expect(cert.length).toBeGreaterThanOrEqual(217);
    expect(cert.length).toBeLessThanOrEqual(221);
    expect(toHex(encodeCertificate(c))).toBe(toHex(cert));
  });

  test.each<[string, () => Uint8Array, string]>([
    ['truncated', () => cert.subarray(0, cert.length - 1), 'certificate: truncated TLV: tag 0x0B has length'],
    ['156 bytes', () => new Uint8Array(156), 'certificate: expected 157..221 bytes, got 156'],
    ['222 bytes', () => new Uint8Array(222), 'certificate: expected 157..221 bytes, got 222'],
    ['a trailing byte', () => Uint8Array.from([...shortCert(), 0x00]), 'certificate: invalid protocol tag 0x00'],
    ['a trailing TLV', () => Uint8Array.from([...shortCert(), 0x01, 0x00]), 'certificate: unexpected tag 0x01'],
    [
      'fields out of order',
      () => {
        const f = fields();
        return rawCertificate([f[1]!, f[0]!, f[2]!, f[3]!, f[4]!]);
      },
      'certificate: tag 0x10 out of order (after tag 0x02)',
    ],
    [
      'a duplicate field',
      () => {
        const f = shortFields();
        return rawCertificate([f[0]!, f[0]!, f[1]!, f[2]!, f[3]!, f[4]!]);
      },
      'certificate: duplicate tag 0x10',
    ],
    [
      'a missing card id',
      () => {
        const f = fields();
        return rawCertificate([f[0]!, f[2]!, f[3]!, f[4]!]);
      },
      'certificate: missing tag 0x02',
    ],
    [
      'a missing attestation key (format 01)',
      () => {
        const f = fields();
        return rawCertificate([f[0]!, f[1]!, f[2]!, f[4]!]);
      },
      'certificate: expected 157..221 bytes',
    ],
    [
      'version 1',
      () => {
        const f = fields();
        f[0] = [0x10, Uint8Array.of(1)];
        return rawCertificate(f);
      },
      'certificate: version 1 is not supported (expected 2)',
    ],
    [
      'a 2-byte version',
      () => {
        const f = fields();
        f[0] = [0x10, Uint8Array.of(2, 0)];
        return rawCertificate(f);
      },
      'certificate: tag 0x10: expected 1 bytes, got 2',
    ],
    [
      'a 7-byte card id',
      () => {
        const f = fields();
        f[1] = [0x02, cardId.subarray(1)];
        return rawCertificate(f);
      },
      'certificate: tag 0x02: expected 8 bytes, got 7',
    ],
    [
      'a compressed identity key',
      () => {
        const f = fields();
        const k = identityPublicKey.slice();
        k[0] = 0x02;
        f[2] = [0x0a, k];
        return rawCertificate(f);
      },
      'certificate: identity public key: expected SEC1 uncompressed',
    ],
    [
      'a compressed attestation key',
      () => {
        const f = fields();
        const k = attestationPublicKey.slice();
        k[0] = 0x03;
        f[3] = [0x0e, k];
        return rawCertificate(f);
      },
      'certificate: attestation public key: expected SEC1 uncompressed',
    ],
    [
      'a 7-byte signature (156 bytes in all)',
      () => {
        const f = shortFields();
        f[SIG] = [0x0b, fromHex('30050201010201')];
        return rawCertificate(f);
      },
      'certificate: expected 157..221 bytes, got 156',
    ],
    [
      'a BER signature',
      () => {
        const f = fields();
        const { r, s } = parseDerSignature(f[SIG]![1]);
        const der = encodeDerSignature({ r, s });
        f[SIG] = [0x0b, Uint8Array.from([0x30, 0x81, ...der.subarray(1)])];
        return rawCertificate(f);
      },
      'manufacturer signature: not a strict DER ECDSA signature: not in canonical DER form',
    ],
  ])('refuses %s', (_name, make, message) => {
    const bytes = make();
    expect(() => parseCertificate(bytes)).toThrow(CertificateFormatError);
    expect(() => parseCertificate(bytes)).toThrow(message);
  });

  test('TypeError for non-bytes', () => {
    expect(() => parseCertificate('10' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('findCertificateRoot', () => {
  const testRoot = testManufacturerRoot();
  // An SPKI DER header for a secp256k1 key, then the uncompressed point.
  const otherSpki = fromHex('3056301006072A8648CE3D020106052B8104000A034200' + toHex(publicKeyOf(fromHex('22'.repeat(32)))));
  const otherRoot = rootFromPem(
    `-----BEGIN PUBLIC KEY-----\n${Buffer.from(otherSpki).toString('base64')}\n-----END PUBLIC KEY-----\n`,
    'other',
  );

  test('finds the root that signed it, among others', () => {
    expect(findCertificateRoot(parseCertificate(cert), [otherRoot, testRoot])).toBe(testRoot);
    expect(findCertificateRoot(parseCertificate(cert), [otherRoot])).toBeUndefined();
    expect(findCertificateRoot(parseCertificate(cert), [])).toBeUndefined();
  });

  test('accepts a high-S manufacturer signature (cards and HSMs do not normalise)', () => {
    const f = fields();
    const { r, s } = parseDerSignature(f[SIG]![1]);
    f[SIG] = [0x0b, encodeDerSignature({ r, s: SECP256K1_N - s })];
    expect(findCertificateRoot(parseCertificate(rawCertificate(f)), [testRoot])).toBe(testRoot);
  });

  test('an off-curve certified key parses (section 1: not curve-checked) and simply fails to verify', () => {
    const f = fields();
    const k = attestationPublicKey.slice();
    flip(k, 64, 1);
    f[3] = [0x0e, k];
    const parsed = parseCertificate(rawCertificate(f));
    expect(findCertificateRoot(parsed, [testRoot])).toBeUndefined();
  });

  test('a changed attestation key no longer verifies', () => {
    const f = fields();
    f[3] = [0x0e, publicKeyOf(fromHex('34'.repeat(32)))];
    expect(findCertificateRoot(parseCertificate(rawCertificate(f)), [testRoot])).toBeUndefined();
  });

  test('a changed card id or identity key no longer verifies', () => {
    const f = fields();
    f[1] = [0x02, fromHex('0102030405060709')];
    expect(findCertificateRoot(parseCertificate(rawCertificate(f)), [testRoot])).toBeUndefined();
    const g = fields();
    g[2] = [0x0a, publicKeyOf(fromHex('12'.repeat(32)))];
    expect(findCertificateRoot(parseCertificate(rawCertificate(g)), [testRoot])).toBeUndefined();
  });
});
