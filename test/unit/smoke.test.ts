import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import * as asn1js from 'asn1js';
test('esm deps load', () => {
  expect(secp256k1.getPublicKey(secp256k1.utils.randomSecretKey()).length).toBe(33);
  expect(sha256(new Uint8Array()).length).toBe(32);
  expect(typeof asn1js.fromBER).toBe('function');
});
