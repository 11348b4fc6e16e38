import { concatBytes } from '@noble/hashes/utils.js';
import { createCipheriv, createHmac, hkdfSync } from 'node:crypto';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { publicKeyOf, SECP256K1_N, sharedSecretX } from '../../../src/protocol/crypto.js';
import { WalletBlobError } from '../../../src/protocol/errors.js';
import {
  decodeWalletPlaintext,
  deriveTransportKeys,
  encodeWalletPlaintext,
  kdfInfo,
  openWalletBlob,
  parseWalletBlobHeader,
  sealWalletBlob,
  type TransportKeys,
} from '../../../src/protocol/wallet-blob.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { flip } from './bytes-helpers.js';

const primaryId = fromHex('5001020304050607');
const backupId = fromHex('B001020304050607');
const eP = fromHex('01'.repeat(32));
const eB = fromHex('02'.repeat(32));
const transcript = { primaryId, backupId, primaryEphemeralKey: publicKeyOf(eP), backupEphemeralKey: publicKeyOf(eB) };
const z = sharedSecretX(eP, transcript.backupEphemeralKey);
const keys = deriveTransportKeys(z, transcript);
const secret = {
  walletPrivateKey: fromHex('03'.repeat(32)),
  walletPublicKey: publicKeyOf(fromHex('03'.repeat(32))),
  pin: fromHex('31323334'),
};
const iv = fromHex('A0A1A2A3A4A5A6A7A8A9AAABACADAEAF');
const recipients = { primaryId, backupId };

/** Seals any 128-byte plaintext with node:crypto alone: an independent implementation of section 1.3. */
function sealRaw(k: TransportKeys, plaintext: Uint8Array, header = concatBytes(Uint8Array.of(2), primaryId, backupId)): Uint8Array {
  const cipher = createCipheriv('aes-256-cbc', k.encryptionKey, iv).setAutoPadding(false);
  const ct = concatBytes(cipher.update(plaintext), cipher.final());
  const tag = createHmac('sha256', k.macKey)
    .update(concatBytes(header, iv, ct))
    .digest();
  return concatBytes(header, iv, ct, tag);
}

describe('transport key', () => {
  test('both cards derive the same keys; HKDF agrees with node:crypto', () => {
    expect(toHex(sharedSecretX(eB, transcript.primaryEphemeralKey))).toBe(toHex(z));
    const info = kdfInfo(transcript);
    expect(info.length).toBe(146);
    expect(toHex(info)).toBe(toHex(concatBytes(primaryId, backupId, transcript.primaryEphemeralKey, transcript.backupEphemeralKey)));
    const okm = new Uint8Array(hkdfSync('sha256', z, new TextEncoder().encode('TWINCARD:KDF:V02'), info, 64));
    expect(toHex(keys.encryptionKey)).toBe(toHex(okm.subarray(0, 32)));
    expect(toHex(keys.macKey)).toBe(toHex(okm.subarray(32)));
  });

  test('the keys depend on every field of the transcript', () => {
    const variants = [
      { ...transcript, primaryId: backupId },
      { ...transcript, backupId: primaryId },
      { ...transcript, primaryEphemeralKey: transcript.backupEphemeralKey },
      { ...transcript, backupEphemeralKey: transcript.primaryEphemeralKey },
    ];
    for (const v of variants) expect(toHex(deriveTransportKeys(z, v).encryptionKey)).not.toBe(toHex(keys.encryptionKey));
  });

  test('refuses a wrong-size Z or field', () => {
    expect(() => deriveTransportKeys(z.subarray(1), transcript)).toThrow('Z: expected 32 bytes, got 31');
    expect(() => kdfInfo({ ...transcript, backupId: backupId.subarray(1) })).toThrow('backup id: expected 8 bytes, got 7');
    expect(() => kdfInfo({ ...transcript, primaryEphemeralKey: new Uint8Array(64) })).toThrow('EP: expected 65 bytes, got 64');
  });
});

describe('wallet blob', () => {
  const blob = sealWalletBlob(keys, recipients, secret, iv);

  test('layout: header, iv, ciphertext, tag; the node:crypto implementation gives the same bytes', () => {
    expect(blob.length).toBe(193);
    expect(toHex(blob.subarray(0, 17))).toBe('02' + toHex(primaryId) + toHex(backupId));
    expect(toHex(blob.subarray(17, 33))).toBe(toHex(iv));
    expect(toHex(sealRaw(keys, encodeWalletPlaintext(secret)))).toBe(toHex(blob));
    const header = parseWalletBlobHeader(blob);
    expect(header.version).toBe(2);
    expect(toHex(header.primaryId)).toBe(toHex(primaryId));
    expect(toHex(header.backupId)).toBe(toHex(backupId));
  });

  test('plaintext layout', () => {
    const p = encodeWalletPlaintext(secret);
    expect(toHex(p)).toBe('03'.repeat(32) + toHex(secret.walletPublicKey) + '04' + '31323334' + '00'.repeat(12) + '00'.repeat(14));
  });

  test('opens to the same secret', () => {
    const opened = openWalletBlob(blob, keys, recipients);
    expect(toHex(opened.walletPrivateKey)).toBe(toHex(secret.walletPrivateKey));
    expect(toHex(opened.walletPublicKey)).toBe(toHex(secret.walletPublicKey));
    expect(toHex(opened.pin)).toBe('31323334');
  });

  const fault = (f: () => unknown): WalletBlobError => {
    try {
      f();
    } catch (e) {
      if (e instanceof WalletBlobError) return e;
      throw e;
    }
    throw new Error('expected a WalletBlobError');
  };

  test.each<[string, (b: Uint8Array) => void, string, number]>([
    [
      'version 01 (a version 1 blob)',
      (b) => {
        b[0] = 1;
      },
      'header version is 1, expected 2',
      0x9a06,
    ],
    [
      'another primary',
      (b) => {
        flip(b, 1, 1);
      },
      `header names primary 5101020304050607, expected ${toHex(primaryId)}`,
      0x9a06,
    ],
    [
      'another backup card',
      (b) => {
        flip(b, 16, 1);
      },
      `header names backup card B001020304050606, expected ${toHex(backupId)}`,
      0x9a06,
    ],
    [
      'a flipped IV bit',
      (b) => {
        flip(b, 17, 1);
      },
      'tag does not verify',
      0x9a05,
    ],
    [
      'a flipped ciphertext bit',
      (b) => {
        flip(b, 100, 0x80);
      },
      'tag does not verify',
      0x9a05,
    ],
    [
      'a flipped tag bit',
      (b) => {
        flip(b, 192, 1);
      },
      'tag does not verify',
      0x9a05,
    ],
    // the header is checked before the tag, though both are wrong here
    [
      'another backup card and a bad tag',
      (b) => {
        flip(b, 16, 1);
        flip(b, 192, 1);
      },
      'header names backup card',
      0x9a06,
    ],
  ])('refuses %s', (_name, mutate, message, sw) => {
    const b = blob.slice();
    mutate(b);
    const e = fault(() => openWalletBlob(b, keys, recipients));
    expect(e.message).toContain(message);
    expect(e.sw).toBe(sw);
  });

  test('refuses a blob sealed with other keys (a swapped EB) as MAC_INVALID', () => {
    const other = deriveTransportKeys(z, { ...transcript, backupEphemeralKey: publicKeyOf(fromHex('04'.repeat(32))) });
    expect(fault(() => openWalletBlob(sealWalletBlob(other, recipients, secret, iv), keys, recipients)).code).toBe('MAC_INVALID');
  });

  const good = encodeWalletPlaintext(secret);
  test.each<[string, (p: Uint8Array) => void, string]>([
    [
      'PIN length 3',
      (p) => {
        p[97] = 3;
      },
      'PIN length 3 is not in 4..16',
    ],
    [
      'PIN length 17',
      (p) => {
        p[97] = 17;
      },
      'PIN length 17 is not in 4..16',
    ],
    [
      'a non-zero byte after the PIN',
      (p) => {
        p[98 + 4] = 1;
      },
      'padding after the PIN is not all zero',
    ],
    [
      'a non-zero last byte',
      (p) => {
        p[127] = 1;
      },
      'padding after the PIN is not all zero',
    ],
    [
      'd = 0',
      (p) => {
        p.fill(0, 0, 32);
      },
      'wallet private key is not in 1..n-1',
    ],
    [
      'd = n',
      (p) => {
        p.set(numberToBytesBE(SECP256K1_N, 32), 0);
      },
      'wallet private key is not in 1..n-1',
    ],
    [
      'a public key off the curve',
      (p) => {
        flip(p, 96, 1);
      },
      'wallet public key: not a valid secp256k1 point',
    ],
  ])('refuses a plaintext with %s as BLOB_INVALID', (_name, mutate, message) => {
    const p = good.slice();
    mutate(p);
    const e = fault(() => openWalletBlob(sealRaw(keys, p), keys, recipients));
    expect(e.code).toBe('BLOB_INVALID');
    expect(e.sw).toBe(0x9a0a);
    expect(e.message).toContain(message);
    expect(() => decodeWalletPlaintext(p)).toThrow(WalletBlobError);
  });

  test('a 16-byte PIN fills its field exactly', () => {
    const pin = fromHex('39'.repeat(16));
    const opened = openWalletBlob(sealWalletBlob(keys, recipients, { ...secret, pin }, iv), keys, recipients);
    expect(toHex(opened.pin)).toBe(toHex(pin));
  });

  test('argument checks', () => {
    expect(() => openWalletBlob(blob.subarray(1), keys, recipients)).toThrow('wallet blob: expected 193 bytes, got 192');
    expect(() => sealWalletBlob(keys, recipients, { ...secret, pin: fromHex('313233') }, iv)).toThrow('PIN: expected 4..16 bytes, got 3');
    expect(() => sealWalletBlob(keys, recipients, secret, iv.subarray(1))).toThrow('IV: expected 16 bytes, got 15');
    expect(() => sealWalletBlob({ ...keys, macKey: new Uint8Array(16) }, recipients, secret, iv)).toThrow(
      'K_mac: expected 32 bytes, got 16',
    );
  });
});
