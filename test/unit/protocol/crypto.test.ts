import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import {
  checkWalletSignature,
  compactSignature,
  constantTimeEqual,
  encodeDerSignature,
  isHighS,
  isValidPublicKey,
  normalizeLowS,
  parseDerSignature,
  publicKeyOf,
  SECP256K1_N,
  SECP256K1_P,
  sharedSecretX,
  signDigest,
  signMessage,
  validatePublicKey,
  verifyMessageSignature,
  zeroize,
} from '../../../src/protocol/crypto.js';
import { InvalidPointError, SignatureFormatError } from '../../../src/protocol/errors.js';

const G = secp256k1.Point.BASE.toBytes(false);
const key = (n: bigint): Uint8Array => numberToBytesBE(n, 32);
const point = (x: bigint, y: bigint): Uint8Array => concatBytes(Uint8Array.of(4), key(x), key(y));
const modP = (a: bigint): bigint => ((a % SECP256K1_P) + SECP256K1_P) % SECP256K1_P;
const powP = (b: bigint, e: bigint): bigint => {
  let r = 1n;
  for (b = modP(b); e > 0n; e >>= 1n, b = modP(b * b)) if (e & 1n) r = modP(r * b);
  return r;
};

describe('curve constants', () => {
  test('match @noble/curves', () => {
    expect(secp256k1.Point.CURVE().p).toBe(SECP256K1_P);
    expect(secp256k1.Point.CURVE().n).toBe(SECP256K1_N);
  });
});

describe('validatePublicKey', () => {
  test('accepts the generator and random keys', () => {
    expect(validatePublicKey(G)).toBe(G);
    for (let i = 0; i < 5; i++) expect(isValidPublicKey(publicKeyOf(secp256k1.utils.randomSecretKey()))).toBe(true);
  });

  test.each([
    ['compressed', G.slice(0, 33).map((b, i) => (i === 0 ? 2 : b)), 'expected 65 bytes, got 33'],
    ['64 bytes', G.slice(0, 64), 'expected 65 bytes, got 64'],
    ['66 bytes', concatBytes(G, Uint8Array.of(0)), 'expected 65 bytes, got 66'],
    ['hybrid prefix 06', concatBytes(Uint8Array.of(6), G.slice(1)), 'expected first byte 04 (uncompressed), got 06'],
    ['X = p', point(SECP256K1_P, 0n), 'X is not below the field prime p'],
    [
      'Y = p + y (same residue)',
      (() => {
        const y = bytesToNumberBE(G.slice(33));
        return y + SECP256K1_P < 2n ** 256n ? point(bytesToNumberBE(G.slice(1, 33)), y + SECP256K1_P) : point(0n, SECP256K1_P);
      })(),
      'below the field prime p',
    ],
    ['Y off by one', point(bytesToNumberBE(G.slice(1, 33)), bytesToNumberBE(G.slice(33)) + 1n), 'not on the curve'],
    ['all zero (no encoding of infinity)', point(0n, 0n), 'not on the curve'],
  ])('refuses %s', (_name, bytes, message) => {
    expect(() => validatePublicKey(bytes, 'EP')).toThrow(InvalidPointError);
    expect(() => validatePublicKey(bytes, 'EP')).toThrow(message);
  });

  test('refuses non-bytes with TypeError', () => {
    expect(() => validatePublicKey('04' as unknown as Uint8Array)).toThrow(TypeError);
  });

  // Wycheproof's ecdh "invalid public key" vectors are points of other curves y^2 = x^3 + b' that
  // share p and a = 0 with secp256k1 (the formulas of point multiplication never use b, so a library
  // that skips the check multiplies happily on a weak curve). Derive such points for a few b'.
  const invalidCurvePoints = [0n, 1n, 2n, 3n, 5n, 6n].map((b) => {
    for (let x = 1n; ; x++) {
      const rhs = modP(x * x * x + b);
      const y = powP(rhs, (SECP256K1_P + 1n) / 4n); // p = 3 mod 4
      if (modP(y * y) === rhs) return { b, x, y };
    }
  });

  test.each(invalidCurvePoints)('refuses a point of y^2 = x^3 + $b (invalid-curve attack)', ({ b, x, y }) => {
    expect(modP(y * y)).toBe(modP(x * x * x + b)); // on its own curve...
    expect(modP(y * y)).not.toBe(modP(x * x * x + 7n)); // ...not on secp256k1
    expect(() => validatePublicKey(point(x, y))).toThrow('Y^2 != X^3 + 7 (mod p): not on the curve');
    // and ECDH refuses it before any scalar multiplication
    expect(() => sharedSecretX(key(12345n), point(x, y))).toThrow(InvalidPointError);
  });
});

describe('DER signatures', () => {
  const privateKey = key(0x1234567890n);
  const publicKey = publicKeyOf(privateKey);
  const message = new TextEncoder().encode('twincard');

  test('encodeDerSignature agrees with @noble/curves and parse inverts it', () => {
    for (let i = 0; i < 20; i++) {
      const der = secp256k1.sign(concatBytes(message, Uint8Array.of(i)), privateKey, { format: 'der' });
      const sig = secp256k1.Signature.fromBytes(der, 'der');
      expect(toHex(encodeDerSignature({ r: sig.r, s: sig.s }))).toBe(toHex(der));
      expect(parseDerSignature(der)).toEqual({ r: sig.r, s: sig.s });
    }
  });

  test('byte-exact small and large values', () => {
    expect(toHex(encodeDerSignature({ r: 1n, s: 1n }))).toBe('3006020101020101');
    expect(toHex(encodeDerSignature({ r: 0x80n, s: 0x7fn }))).toBe('300702020080020' + '17F');
    const max = SECP256K1_N - 1n;
    const der = encodeDerSignature({ r: max, s: max });
    expect(der.length).toBe(72);
    expect(toHex(der).slice(0, 12)).toBe('304602210' + '0FF');
    expect(parseDerSignature(der)).toEqual({ r: max, s: max });
  });

  test.each([
    ['7 bytes', '30050201010201', 'expected 8..72 bytes, got 7'],
    ['73 bytes', '3047022100' + 'FF'.repeat(32) + '0222' + '00' + 'FF'.repeat(33), 'expected 8..72 bytes, got 73'],
    ['a trailing byte', '300602010102010100', '1 trailing bytes after the SEQUENCE'],
    ['a SET instead of a SEQUENCE', '3106020101020101', 'expected a SEQUENCE'],
    ['length longer than the data', '3007020101020101', 'ASN.1 error'],
    ['length shorter than the data', '3005020101020101', 'not in canonical DER form'],
    ['non-minimal SEQUENCE length', '308106020101020101', 'not in canonical DER form'],
    ['non-minimal INTEGER length', '30070281010102010' + '1', 'not in canonical DER form'],
    ['leading zero in r', '300702020001020101', 'not in canonical DER form'],
    ['negative r', '3006020180020101', 'r is not positive'],
    ['zero s', '3006020101020100', 's is not positive'],
    ['empty INTEGER', '3006020002020101', 'r: empty INTEGER'],
    ['three INTEGERs', '3009020101020101020101', 'expected 2 INTEGERs in the SEQUENCE, got 3 items'],
    ['one INTEGER', '3006020401020304', 'expected 2 INTEGERs in the SEQUENCE, got 1 items'],
    ['an OCTET STRING for s', '3006020101040101', 's: expected an INTEGER'],
    ['indefinite length', '3080020101020101' + '0000', 'not in canonical DER form'],
    ['r = n', '3026' + '0221' + '00' + SECP256K1_N.toString(16).toUpperCase() + '020101', 'r is not below the group order n'],
    ['s > n', '3026020101' + '0221' + '00' + 'FF'.repeat(32), 's is not below the group order n'],
    ['not DER at all', 'DEADBEEFDEADBEEF', 'ASN.1 error'],
  ])('refuses %s', (_name, hex, message) => {
    const bytes = fromHex(hex);
    expect(() => parseDerSignature(bytes, 'sigP')).toThrow(SignatureFormatError);
    expect(() => parseDerSignature(bytes, 'sigP')).toThrow(new RegExp(`^sigP: not a strict DER ECDSA signature: .*(${message})`));
  });

  test('TypeError for non-bytes', () => {
    expect(() => parseDerSignature([0x30] as unknown as Uint8Array)).toThrow(TypeError);
  });

  test('identity signatures: high S is accepted, a wrong key, message or purpose is not', () => {
    const der = signMessage(message, privateKey);
    const low = parseDerSignature(der);
    expect(isHighS(low)).toBe(false);
    const high = encodeDerSignature({ r: low.r, s: SECP256K1_N - low.s });
    expect(isHighS(parseDerSignature(high))).toBe(true);
    expect(verifyMessageSignature(der, message, publicKey)).toBe(true);
    expect(verifyMessageSignature(high, message, publicKey)).toBe(true);
    expect(verifyMessageSignature(der, concatBytes(message, Uint8Array.of(0)), publicKey)).toBe(false);
    expect(verifyMessageSignature(der, message, G)).toBe(false);
    // the message is hashed with SHA-256 exactly once (Signature.ALG_ECDSA_SHA_256)
    expect(secp256k1.verify(compactSignature(low), sha256(message), publicKey, { prehash: false })).toBe(true);
  });

  test('RFC 6979: signing is deterministic', () => {
    expect(toHex(signMessage(message, privateKey))).toBe(toHex(signMessage(message, privateKey)));
  });

  test('wallet signatures are normalised to low S and checked over the digest as given', () => {
    const digest = sha256(message);
    const der = signDigest(digest, privateKey);
    const low = parseDerSignature(der);
    const high = encodeDerSignature({ r: low.r, s: SECP256K1_N - low.s });
    for (const sig of [der, high]) {
      const checked = checkWalletSignature(sig, digest, publicKey);
      expect(checked).toBeDefined();
      expect(toHex(checked!.der)).toBe(toHex(der));
      expect(toHex(checked!.compact)).toBe(toHex(compactSignature(low)));
      expect(checked!.wasHighS).toBe(sig === high);
    }
    expect(checkWalletSignature(der, sha256(digest), publicKey)).toBeUndefined();
    expect(checkWalletSignature(der, digest, G)).toBeUndefined();
    expect(() => checkWalletSignature(der, digest.slice(1), publicKey)).toThrow('digest: expected 32 bytes, got 31');
  });

  test('normalizeLowS leaves low S alone and flips high S', () => {
    expect(normalizeLowS({ r: 5n, s: 7n })).toEqual({ r: 5n, s: 7n });
    expect(normalizeLowS({ r: 5n, s: SECP256K1_N - 7n })).toEqual({ r: 5n, s: 7n });
    expect(normalizeLowS({ r: 5n, s: SECP256K1_N / 2n })).toEqual({ r: 5n, s: SECP256K1_N / 2n });
  });
});

describe('ECDH', () => {
  test('both sides get the same X coordinate', () => {
    const a = key(0xaan);
    const b = key(0xbbn);
    const z1 = sharedSecretX(a, publicKeyOf(b));
    const z2 = sharedSecretX(b, publicKeyOf(a));
    expect(z1.length).toBe(32);
    expect(toHex(z1)).toBe(toHex(z2));
    // X of (a*b)·G
    expect(toHex(z1)).toBe(
      toHex(
        secp256k1.Point.BASE.multiply(0xaan * 0xbbn)
          .toBytes(false)
          .slice(1, 33),
      ),
    );
  });

  test('refuses private keys outside 1..n-1', () => {
    expect(() => sharedSecretX(key(0n), G)).toThrow('private key: not in 1..n-1');
    expect(() => sharedSecretX(key(SECP256K1_N), G)).toThrow('private key: not in 1..n-1');
    expect(() => publicKeyOf(new Uint8Array(31))).toThrow('private key: expected 32 bytes, got 31');
  });
});

describe('buffers', () => {
  test('constantTimeEqual', () => {
    expect(constantTimeEqual(fromHex('0102'), fromHex('0102'))).toBe(true);
    expect(constantTimeEqual(fromHex('0102'), fromHex('0103'))).toBe(false);
    expect(constantTimeEqual(fromHex('0102'), fromHex('010200'))).toBe(false);
    expect(() => constantTimeEqual('a' as unknown as Uint8Array, fromHex('00'))).toThrow(TypeError);
  });

  test('zeroize wipes every buffer given', () => {
    const a = fromHex('0102');
    const b = fromHex('FF');
    zeroize(a, undefined, b);
    expect(toHex(a) + toHex(b)).toBe('000000');
  });
});
