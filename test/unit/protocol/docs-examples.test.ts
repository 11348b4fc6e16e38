/**
 * docs/protocol.md section 8 recomputed: every value of every `twincard-example` block is derived again
 * from the inputs with the host code, and independently with node:crypto where it can (ECDH, HKDF,
 * AES-CBC, HMAC, ECDSA verification), so the document, the host and the card cannot drift apart.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { createCipheriv, createECDH, createHmac, createPublicKey, hkdfSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { encodeCertificate, findCertificateRoot, issueCertificate, parseCertificate } from '../../../src/protocol/certificate.js';
import { publicKeyOf, sharedSecretX, signMessage, verifyMessageSignature } from '../../../src/protocol/crypto.js';
import { encodeSpki, keyPairFromPem } from '../../../src/protocol/keys.js';
import { attestationMessage, certificateMessage, prepareMessage, sealMessage } from '../../../src/protocol/messages.js';
import { testManufacturerRoot } from '../../../src/protocol/roots.js';
import {
  deriveTransportKeys,
  encodeWalletPlaintext,
  kdfInfo,
  openWalletBlob,
  sealWalletBlob,
} from '../../../src/protocol/wallet-blob.js';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/**
 * The `name = HEX` entries of the `twincard-example` blocks in section 8; a value may continue on
 * indented hex-only lines. Anything else inside a block is an error, so a typo cannot hide.
 */
function parseExamples(markdown: string): Map<string, Uint8Array> {
  const start = markdown.indexOf('\n## 8. Worked examples');
  if (start < 0) throw new Error('docs/protocol.md: no "## 8. Worked examples" section');
  const section = markdown.slice(start);
  const values = new Map<string, string>();
  let blocks = 0;
  for (const [, body = ''] of section.matchAll(/^```twincard-example\n([\s\S]*?)^```$/gm)) {
    blocks++;
    let current: string | undefined;
    for (const line of body.split('\n')) {
      if (line.trim() === '') continue;
      const entry = /^(\S+)\s*=\s*([0-9A-F]+)$/.exec(line);
      const more = /^\s+([0-9A-F]+)$/.exec(line);
      if (entry) {
        const [, name = '', hex = ''] = entry;
        if (values.has(name)) throw new Error(`docs/protocol.md: ${name} defined twice`);
        values.set(name, hex);
        current = name;
      } else if (more && current !== undefined) {
        values.set(current, values.get(current) + (more[1] ?? ''));
      } else {
        throw new Error(`docs/protocol.md: unreadable line in a twincard-example block: ${JSON.stringify(line)}`);
      }
    }
  }
  if (blocks === 0) throw new Error('docs/protocol.md: no twincard-example blocks in section 8');
  return new Map([...values].map(([name, hex]) => [name, fromHex(hex)]));
}

const doc = parseExamples(readFileSync(here('../../../docs/protocol.md'), 'utf8'));
const v = (name: string): Uint8Array => {
  const value = doc.get(name);
  if (value === undefined) throw new Error(`docs/protocol.md section 8 has no value ${name}`);
  return value;
};
const label = (name: string): Uint8Array => sha256(utf8ToBytes(`twincard example ${name}`));

/** node:crypto's verdict on a DER ECDSA-SHA256 signature: an implementation independent of noble. */
function nodeVerifies(message: Uint8Array, der: Uint8Array, publicKey: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(encodeSpki(publicKey)), format: 'der', type: 'spki' });
  return verify('sha256', message, { key, dsaEncoding: 'der' }, der);
}

/** node:crypto's ECDH on secp256k1: public key of d, and the shared X coordinate. */
function nodeEcdh(d: Uint8Array): { publicKey: Uint8Array; shared(peer: Uint8Array): Uint8Array } {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(d);
  return { publicKey: new Uint8Array(ecdh.getPublicKey()), shared: (peer) => new Uint8Array(ecdh.computeSecret(peer)) };
}

describe('docs/protocol.md section 8: worked examples', () => {
  test('has exactly the values this test checks', () => {
    expect([...doc.keys()].sort()).toEqual(
      [
        'd_M', 'P.id', 'd_P', 'B.id', 'd_B', 'eP', 'eB', 'd_W', 'PIN', 'IV', 'challenge',
        'Q_M', 'Q_P', 'Q_B', 'EP', 'EB', 'Q_W',
        'cert_message', 'cert_signature', 'certificate',
        'attest_message', 'attest_signature',
        'prep_message', 'prep_signature', 'seal_message', 'seal_signature',
        'Z', 'info', 'K_enc', 'K_mac',
        'plaintext', 'blob',
        'export_data', 'import_data',
      ].sort(),
    );
  });

  test('8.1 inputs are derived as the text says', () => {
    const manufacturer = keyPairFromPem(readFileSync(here('../../../fixtures/test-manufacturer/private-key.pem'), 'utf8'));
    expect(toHex(v('d_M'))).toBe(toHex(manufacturer.privateKey));
    for (const name of ['d_P', 'd_B', 'eP', 'eB', 'd_W', 'challenge']) expect(toHex(v(name))).toBe(toHex(label(name)));
    expect(toHex(v('IV'))).toBe(toHex(label('IV').subarray(0, 16)));
    expect(toHex(v('P.id'))).toBe(toHex(concatBytes(utf8ToBytes('PRIM'), fromHex('00000001'))));
    expect(toHex(v('B.id'))).toBe(toHex(concatBytes(utf8ToBytes('BACK'), fromHex('00000001'))));
    expect(toHex(v('PIN'))).toBe(toHex(utf8ToBytes('123456')));
  });

  test('8.2 public keys', () => {
    for (const [pub, priv] of [['Q_M', 'd_M'], ['Q_P', 'd_P'], ['Q_B', 'd_B'], ['EP', 'eP'], ['EB', 'eB'], ['Q_W', 'd_W']] as const) {
      expect(toHex(v(pub))).toBe(toHex(publicKeyOf(v(priv))));
      expect(toHex(v(pub))).toBe(toHex(nodeEcdh(v(priv)).publicKey));
    }
    expect(toHex(v('Q_M'))).toBe(toHex(testManufacturerRoot().publicKey));
  });

  test('8.3 certificate', () => {
    expect(toHex(v('cert_message'))).toBe(toHex(certificateMessage(v('P.id'), v('Q_P'))));
    expect(toHex(v('cert_signature'))).toBe(toHex(signMessage(v('cert_message'), v('d_M'))));
    expect(nodeVerifies(v('cert_message'), v('cert_signature'), v('Q_M'))).toBe(true);
    const certificate = encodeCertificate({ cardId: v('P.id'), identityPublicKey: v('Q_P'), signature: v('cert_signature') });
    expect(toHex(v('certificate'))).toBe(toHex(certificate));
    expect(v('certificate').length).toBe(153);
    expect(findCertificateRoot(parseCertificate(v('certificate')), [testManufacturerRoot()])).toBeDefined();
  });

  test('8.4 attestation', () => {
    expect(toHex(v('attest_message'))).toBe(toHex(attestationMessage(v('P.id'), v('challenge'))));
    expect(toHex(v('attest_signature'))).toBe(toHex(signMessage(v('attest_message'), v('d_P'))));
    expect(nodeVerifies(v('attest_message'), v('attest_signature'), v('Q_P'))).toBe(true);
  });

  test('8.5 prepare and seal signatures', () => {
    expect(toHex(v('prep_message'))).toBe(toHex(prepareMessage(v('B.id'), v('EB'))));
    expect(toHex(v('prep_message'))).toBe(toHex(concatBytes(utf8ToBytes('TWINCARD:PREP-B2'), v('B.id'), v('EB'))));
    expect(toHex(v('prep_signature'))).toBe(toHex(signMessage(v('prep_message'), v('d_B'))));
    expect(nodeVerifies(v('prep_message'), v('prep_signature'), v('Q_B'))).toBe(true);
    expect(toHex(v('seal_message'))).toBe(toHex(sealMessage(v('P.id'), v('B.id'), v('EB'), v('EP'))));
    expect(toHex(v('seal_message'))).toBe(
      toHex(concatBytes(utf8ToBytes('TWINCARD:SEAL-P2'), v('P.id'), v('B.id'), v('EB'), v('EP'))),
    );
    expect(toHex(v('seal_signature'))).toBe(toHex(signMessage(v('seal_message'), v('d_P'))));
    expect(nodeVerifies(v('seal_message'), v('seal_signature'), v('Q_P'))).toBe(true);
    // domain separation: neither signature verifies as the other purpose, nor under the other card
    expect(verifyMessageSignature(v('prep_signature'), v('seal_message'), v('Q_B'))).toBe(false);
    expect(verifyMessageSignature(v('seal_signature'), v('prep_message'), v('Q_P'))).toBe(false);
    expect(verifyMessageSignature(v('prep_signature'), v('prep_message'), v('Q_P'))).toBe(false);
  });

  const transcript = (): Parameters<typeof kdfInfo>[0] => ({
    primaryId: v('P.id'),
    backupId: v('B.id'),
    primaryEphemeralKey: v('EP'),
    backupEphemeralKey: v('EB'),
  });

  test('8.6 transport key', () => {
    expect(toHex(v('Z'))).toBe(toHex(sharedSecretX(v('eP'), v('EB'))));
    expect(toHex(v('Z'))).toBe(toHex(sharedSecretX(v('eB'), v('EP'))));
    expect(toHex(v('Z'))).toBe(toHex(nodeEcdh(v('eP')).shared(v('EB'))));
    expect(toHex(v('info'))).toBe(toHex(kdfInfo(transcript())));
    const keys = deriveTransportKeys(v('Z'), transcript());
    expect(toHex(v('K_enc'))).toBe(toHex(keys.encryptionKey));
    expect(toHex(v('K_mac'))).toBe(toHex(keys.macKey));
    const okm = new Uint8Array(hkdfSync('sha256', v('Z'), utf8ToBytes('TWINCARD:KDF:V02'), v('info'), 64));
    expect(toHex(okm)).toBe(toHex(concatBytes(v('K_enc'), v('K_mac'))));
  });

  test('8.7 wallet blob', () => {
    const secret = { walletPrivateKey: v('d_W'), walletPublicKey: v('Q_W'), pin: v('PIN') };
    expect(toHex(v('plaintext'))).toBe(toHex(encodeWalletPlaintext(secret)));
    const keys = { encryptionKey: v('K_enc'), macKey: v('K_mac') };
    const ids = { primaryId: v('P.id'), backupId: v('B.id') };
    expect(toHex(v('blob'))).toBe(toHex(sealWalletBlob(keys, ids, secret, v('IV'))));
    // node:crypto alone
    const header = concatBytes(Uint8Array.of(2), v('P.id'), v('B.id'));
    const cipher = createCipheriv('aes-256-cbc', v('K_enc'), v('IV')).setAutoPadding(false);
    const ct = concatBytes(cipher.update(v('plaintext')), cipher.final());
    const tag = createHmac('sha256', v('K_mac')).update(concatBytes(header, v('IV'), ct)).digest();
    expect(toHex(v('blob'))).toBe(toHex(concatBytes(header, v('IV'), ct, tag)));
    const opened = openWalletBlob(v('blob'), keys, ids);
    expect(toHex(opened.walletPrivateKey)).toBe(toHex(v('d_W')));
    expect(toHex(opened.pin)).toBe(toHex(v('PIN')));
  });

  test('8.8 BACKUP_EXPORT and BACKUP_IMPORT data, by hand and as TwincardCard sends them', async () => {
    const certificateB = issueCertificate(v('B.id'), v('Q_B'), v('d_M'));
    expect(certificateB.length).toBe(153);
    const tlv = (tag: number, value: Uint8Array): Uint8Array =>
      concatBytes(Uint8Array.of(tag), value.length < 0x80 ? Uint8Array.of(value.length) : Uint8Array.of(0x81, value.length), value);
    const exportData = concatBytes(tlv(0x04, certificateB), tlv(0x13, v('EB')), tlv(0x14, v('prep_signature')));
    const importData = concatBytes(
      tlv(0x04, v('certificate')),
      tlv(0x11, v('EP')),
      tlv(0x12, v('seal_signature')),
      tlv(0x15, v('blob')),
    );
    expect(toHex(v('export_data'))).toBe(toHex(exportData));
    expect(toHex(v('import_data'))).toBe(toHex(importData));

    const sent = await dataSent((card) => card.backupExport({ certificate: certificateB, ephemeralKey: v('EB'), signature: v('prep_signature') }));
    expect(sent.ins).toBe(0x62);
    expect(toHex(sent.data)).toBe(toHex(v('export_data')));
    const imported = await dataSent((card) =>
      card.backupImport({ certificate: v('certificate'), ephemeralKey: v('EP'), signature: v('seal_signature'), blob: v('blob') }),
    );
    expect(imported.ins).toBe(0x66);
    expect(toHex(imported.data)).toBe(toHex(v('import_data')));
  });
});

/**
 * The data field a TwincardCard method sends, reassembled from its command-chaining blocks. The
 * transport acknowledges each non-final block (9000) as a card does, and refuses the final one
 * (6985), so nothing is parsed from it: this checks what leaves the host, not an answer.
 */
async function dataSent(call: (card: TwincardCard) => Promise<unknown>): Promise<{ ins: number; data: Uint8Array }> {
  const blocks: Uint8Array[] = [];
  let ins = -1;
  const card = new TwincardCard({
    transmit: async (apdu: Uint8Array) => {
      const cla = apdu[0] as number;
      ins = apdu[1] as number;
      const lc = apdu[4] as number;
      blocks.push(apdu.slice(5, 5 + lc)); // a copy: the channel wipes its buffers after each exchange
      expect(apdu.length === 5 + lc || apdu.length === 6 + lc).toBe(true);
      return (cla & 0x10) !== 0 ? Uint8Array.of(0x90, 0x00) : Uint8Array.of(0x69, 0x85);
    },
  });
  await expect(call(card)).rejects.toThrow('6985');
  expect(blocks.length).toBeGreaterThan(1); // both are longer than one short APDU: chained
  return { ins, data: concatBytes(...blocks) };
}

describe('the examples parser', () => {
  const wrap = (body: string): string => `x\n## 8. Worked examples\n\n\`\`\`twincard-example\n${body}\n\`\`\`\n`;
  test('joins continuation lines', () => {
    expect(toHex(parseExamples(wrap('a = 01\n    02\nb = 03')).get('a')!)).toBe('0102');
  });
  test.each([
    ['a duplicate name', 'a = 01\na = 02', 'a defined twice'],
    ['a lowercase digit', 'a = 0a', 'unreadable line'],
    ['a comment', 'a = 01 # one', 'unreadable line'],
    ['a continuation first', '  01', 'unreadable line'],
  ])('refuses %s', (_name, body, message) => {
    expect(() => parseExamples(wrap(body))).toThrow(message);
  });
  test('refuses a document without the section', () => {
    expect(() => parseExamples('# nothing')).toThrow('no "## 8. Worked examples" section');
  });
});
