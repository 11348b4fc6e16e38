/**
 * docs/protocol.md section 8 recomputed: every value of every `twincard-example` block is derived again
 * from the inputs with the host code, and independently with node:crypto where it can (ECDH, HKDF,
 * AES-CBC, HMAC, ECDSA verification, the session's padding and truncated MAC), so the document, the host and the card cannot drift apart.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { createCipheriv, createDecipheriv, createECDH, createHmac, createPublicKey, hkdfSync, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { encodeCertificate, findCertificateRoot, issueCertificate, parseCertificate } from '../../../src/protocol/certificate.js';
import { publicKeyOf, sharedSecretX, signMessage, verifyMessageSignature } from '../../../src/protocol/crypto.js';
import { encodeSpki, keyPairFromPem } from '../../../src/protocol/keys.js';
import { attestationMessage, certificateMessage, prepareMessage, sealMessage, sessionMessage } from '../../../src/protocol/messages.js';
import { deriveSessionKeys, sessionInfo } from '../../../src/protocol/session.js';
import { testManufacturerRoot } from '../../../src/protocol/roots.js';
import { deriveTransportKeys, encodeWalletPlaintext, kdfInfo, openWalletBlob, sealWalletBlob } from '../../../src/protocol/wallet-blob.js';

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
        values.set(current, (values.get(current) ?? '') + (more[1] ?? ''));
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
        'd_M',
        'P.id',
        'd_P',
        'B.id',
        'd_B',
        'eP',
        'eB',
        'd_W',
        'PIN',
        'IV',
        'challenge',
        'd_AP',
        'd_AB',
        'eH',
        'eC',
        'IV_S',
        'Q_M',
        'Q_P',
        'Q_B',
        'EP',
        'EB',
        'Q_W',
        'Q_AP',
        'Q_AB',
        'cert_message',
        'cert_signature',
        'certificate',
        'attest_message',
        'attest_signature',
        'prep_message',
        'prep_signature',
        'seal_message',
        'seal_signature',
        'Z',
        'info',
        'K_enc',
        'K_mac',
        'plaintext',
        'blob',
        'export_data',
        'import_data',
        'EH',
        'EC',
        'session_message',
        'session_signature',
        'open_session_apdu',
        'open_session_resp',
        'Z_S',
        'info_S',
        'K_enc_S',
        'K_mac_S',
        'verify_pin_apdu',
      ].sort(),
    );
  });

  test('8.1 inputs are derived as the text says', () => {
    const manufacturer = keyPairFromPem(readFileSync(here('../../../fixtures/test-manufacturer/private-key.pem'), 'utf8'));
    expect(toHex(v('d_M'))).toBe(toHex(manufacturer.privateKey));
    for (const name of ['d_P', 'd_B', 'eP', 'eB', 'd_W', 'challenge', 'd_AP', 'd_AB', 'eH', 'eC']) {
      expect(toHex(v(name))).toBe(toHex(label(name)));
    }
    expect(toHex(v('IV'))).toBe(toHex(label('IV').subarray(0, 16)));
    expect(toHex(v('IV_S'))).toBe(toHex(label('IV_S').subarray(0, 16)));
    expect(toHex(v('P.id'))).toBe(toHex(concatBytes(utf8ToBytes('PRIM'), fromHex('00000001'))));
    expect(toHex(v('B.id'))).toBe(toHex(concatBytes(utf8ToBytes('BACK'), fromHex('00000001'))));
    expect(toHex(v('PIN'))).toBe(toHex(utf8ToBytes('123456')));
  });

  test('8.2 public keys', () => {
    const pairs = [
      ['Q_M', 'd_M'],
      ['Q_P', 'd_P'],
      ['Q_B', 'd_B'],
      ['EP', 'eP'],
      ['EB', 'eB'],
      ['Q_W', 'd_W'],
      ['Q_AP', 'd_AP'],
      ['Q_AB', 'd_AB'],
      ['EH', 'eH'],
      ['EC', 'eC'],
    ] as const;
    for (const [pub, priv] of pairs) {
      expect(toHex(v(pub))).toBe(toHex(publicKeyOf(v(priv))));
      expect(toHex(v(pub))).toBe(toHex(nodeEcdh(v(priv)).publicKey));
    }
    expect(toHex(v('Q_M'))).toBe(toHex(testManufacturerRoot().publicKey));
  });

  test('8.3 certificate', () => {
    expect(toHex(v('cert_message'))).toBe(toHex(certificateMessage(v('P.id'), v('Q_P'), v('Q_AP'))));
    expect(toHex(v('cert_message'))).toBe(toHex(concatBytes(utf8ToBytes('TWINCARD:CERT:02'), v('P.id'), v('Q_P'), v('Q_AP'))));
    expect(toHex(v('cert_signature'))).toBe(toHex(signMessage(v('cert_message'), v('d_M'))));
    expect(nodeVerifies(v('cert_message'), v('cert_signature'), v('Q_M'))).toBe(true);
    const fields = { cardId: v('P.id'), identityPublicKey: v('Q_P'), attestationPublicKey: v('Q_AP') };
    const certificate = encodeCertificate({ ...fields, signature: v('cert_signature') });
    expect(toHex(v('certificate'))).toBe(toHex(certificate));
    const tlv = (tag: number, value: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(tag, value.length), value);
    const byHand = concatBytes(
      tlv(0x10, Uint8Array.of(2)),
      tlv(0x02, v('P.id')),
      tlv(0x0a, v('Q_P')),
      tlv(0x0e, v('Q_AP')),
      tlv(0x0b, v('cert_signature')),
    );
    expect(toHex(v('certificate'))).toBe(toHex(byHand));
    expect(v('certificate').length).toBe(220);
    const parsed = parseCertificate(v('certificate'));
    expect(toHex(parsed.attestationPublicKey)).toBe(toHex(v('Q_AP')));
    expect(findCertificateRoot(parsed, [testManufacturerRoot()])).toBeDefined();
  });

  test('8.4 attestation', () => {
    expect(toHex(v('attest_message'))).toBe(toHex(attestationMessage(v('P.id'), v('challenge'))));
    expect(toHex(v('attest_signature'))).toBe(toHex(signMessage(v('attest_message'), v('d_AP'))));
    expect(nodeVerifies(v('attest_message'), v('attest_signature'), v('Q_AP'))).toBe(true);
    // the attestation key, not the identity key, signs it (section 1.1)
    expect(nodeVerifies(v('attest_message'), v('attest_signature'), v('Q_P'))).toBe(false);
  });

  test('8.5 prepare and seal signatures', () => {
    expect(toHex(v('prep_message'))).toBe(toHex(prepareMessage(v('B.id'), v('EB'))));
    expect(toHex(v('prep_message'))).toBe(toHex(concatBytes(utf8ToBytes('TWINCARD:PREP-B2'), v('B.id'), v('EB'))));
    expect(toHex(v('prep_signature'))).toBe(toHex(signMessage(v('prep_message'), v('d_B'))));
    expect(nodeVerifies(v('prep_message'), v('prep_signature'), v('Q_B'))).toBe(true);
    expect(toHex(v('seal_message'))).toBe(toHex(sealMessage(v('P.id'), v('B.id'), v('EB'), v('EP'))));
    expect(toHex(v('seal_message'))).toBe(toHex(concatBytes(utf8ToBytes('TWINCARD:SEAL-P2'), v('P.id'), v('B.id'), v('EB'), v('EP'))));
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
    const tag = createHmac('sha256', v('K_mac'))
      .update(concatBytes(header, v('IV'), ct))
      .digest();
    expect(toHex(v('blob'))).toBe(toHex(concatBytes(header, v('IV'), ct, tag)));
    const opened = openWalletBlob(v('blob'), keys, ids);
    expect(toHex(opened.walletPrivateKey)).toBe(toHex(v('d_W')));
    expect(toHex(opened.pin)).toBe(toHex(v('PIN')));
  });

  test('8.8 BACKUP_EXPORT and BACKUP_IMPORT data, by hand and as TwincardCard sends them', async () => {
    const certificateB = issueCertificate({ cardId: v('B.id'), identityPublicKey: v('Q_B'), attestationPublicKey: v('Q_AB') }, v('d_M'));
    expect(certificateB.length).toBe(219);
    const tlv = (tag: number, value: Uint8Array): Uint8Array =>
      concatBytes(Uint8Array.of(tag), value.length < 0x80 ? Uint8Array.of(value.length) : Uint8Array.of(0x81, value.length), value);
    const exportData = concatBytes(tlv(0x04, certificateB), tlv(0x13, v('EB')), tlv(0x14, v('prep_signature')));
    const importData = concatBytes(tlv(0x04, v('certificate')), tlv(0x11, v('EP')), tlv(0x12, v('seal_signature')), tlv(0x15, v('blob')));
    expect(toHex(v('export_data'))).toBe(toHex(exportData));
    expect(toHex(v('import_data'))).toBe(toHex(importData));

    // BACKUP_EXPORT is wrapped: what leaves the host decrypts (with the 8.9 session's K_enc_S) to export_data
    const sent = await dataSent(
      (card) => card.backupExport({ certificate: certificateB, ephemeralKey: v('EB'), signature: v('prep_signature') }),
      true,
    );
    expect(sent.ins).toBe(0x62);
    expect(sent.cla).toBe(0x84);
    expect(toHex(unwrapWithNode(sent.data, 0x62, 1))).toBe(toHex(v('export_data')));
    const imported = await dataSent((card) =>
      card.backupImport({ certificate: v('certificate'), ephemeralKey: v('EP'), signature: v('seal_signature'), blob: v('blob') }),
    );
    expect(imported.ins).toBe(0x66);
    expect(imported.cla).toBe(0x80);
    expect(toHex(imported.data)).toBe(toHex(v('import_data')));
  });

  test('8.9 session: OPEN_SESSION, keys, one wrapped VERIFY_PIN (host code, then node:crypto alone)', async () => {
    expect(toHex(v('session_message'))).toBe(toHex(sessionMessage(v('P.id'), v('EH'), v('EC'))));
    expect(toHex(v('session_message'))).toBe(toHex(concatBytes(utf8ToBytes('TWINCARD:SESS-C2'), v('P.id'), v('EH'), v('EC'))));
    expect(toHex(v('session_signature'))).toBe(toHex(signMessage(v('session_message'), v('d_AP'))));
    expect(nodeVerifies(v('session_message'), v('session_signature'), v('Q_AP'))).toBe(true);
    expect(toHex(v('open_session_apdu'))).toBe(toHex(concatBytes(fromHex('8070000043'), fromHex('1D41'), v('EH'), fromHex('00'))));
    const sigLength = v('session_signature').length;
    expect(toHex(v('open_session_resp'))).toBe(
      toHex(concatBytes(fromHex('1A41'), v('EC'), Uint8Array.of(0x0b, sigLength), v('session_signature'))),
    );
    expect(toHex(v('Z_S'))).toBe(toHex(sharedSecretX(v('eH'), v('EC'))));
    expect(toHex(v('Z_S'))).toBe(toHex(nodeEcdh(v('eC')).shared(v('EH'))));
    expect(toHex(v('info_S'))).toBe(toHex(sessionInfo(v('P.id'), v('EH'), v('EC'))));
    expect(toHex(v('info_S'))).toBe(toHex(concatBytes(v('P.id'), v('EH'), v('EC'))));
    const keys = deriveSessionKeys(v('Z_S'), v('info_S'));
    expect(toHex(v('K_enc_S'))).toBe(toHex(keys.encryptionKey));
    expect(toHex(v('K_mac_S'))).toBe(toHex(keys.macKey));
    const okm = new Uint8Array(hkdfSync('sha256', v('Z_S'), utf8ToBytes('TWINCARD:SES:V02'), v('info_S'), 64));
    expect(toHex(okm)).toBe(toHex(concatBytes(v('K_enc_S'), v('K_mac_S'))));
    // node:crypto alone: pad (method 2), encrypt, MAC, truncate
    const ctr = fromHex('00000001');
    const cipher = createCipheriv('aes-256-cbc', v('K_enc_S'), v('IV_S')).setAutoPadding(false);
    const ct = concatBytes(cipher.update(concatBytes(v('PIN'), fromHex('80'), new Uint8Array(9))), cipher.final());
    const mac = createHmac('sha256', v('K_mac_S'))
      .update(concatBytes(fromHex('84200000'), ctr, v('IV_S'), ct))
      .digest()
      .subarray(0, 16);
    const data = concatBytes(ctr, v('IV_S'), ct, mac);
    expect(toHex(v('verify_pin_apdu'))).toBe(toHex(concatBytes(fromHex('84200000'), Uint8Array.of(data.length), data)));
    // and as TwincardCard sends them, over a transport that answers as P does in 8.9
    const sent: Uint8Array[] = [];
    const card = new TwincardCard({
      transmit: async (apdu: Uint8Array) => {
        sent.push(apdu.slice());
        return apdu[1] === 0x70 ? concatBytes(v('open_session_resp'), fromHex('9000')) : fromHex('9000');
      },
    });
    await card.openSession(parseCertificate(v('certificate')), { hostEphemeralSecret: v('eH').slice() });
    expect(card.sessionOpen).toBe(true);
    expect(toHex(sent[0]!)).toBe(toHex(v('open_session_apdu')));
    // the IV is random in use; here it is checked by decrypting what was sent with node:crypto
    await card.verifyPin(v('PIN'));
    const wrapped = sent[1]!;
    expect(toHex(wrapped.subarray(0, 4))).toBe('84200000');
    expect(toHex(unwrapWithNode(wrapped.subarray(5, 5 + (wrapped[4] as number)), 0x20, 1))).toBe(toHex(v('PIN')));
  });
});

/** node:crypto alone: checks the MAC and counter of wrapped data under the 8.9 keys and returns the payload. */
function unwrapWithNode(data: Uint8Array, ins: number, counter: number): Uint8Array {
  const ctr = data.subarray(0, 4);
  expect(new DataView(ctr.buffer, ctr.byteOffset, 4).getUint32(0)).toBe(counter);
  const iv = data.subarray(4, 20);
  const ct = data.subarray(20, data.length - 16);
  const mac = data.subarray(data.length - 16);
  const expected = createHmac('sha256', v('K_mac_S'))
    .update(concatBytes(Uint8Array.of(0x84, ins, 0, 0), ctr, iv, ct))
    .digest()
    .subarray(0, 16);
  expect(toHex(mac)).toBe(toHex(expected));
  const decipher = createDecipheriv('aes-256-cbc', v('K_enc_S'), iv).setAutoPadding(false);
  const padded = concatBytes(decipher.update(ct), decipher.final());
  const end = padded.lastIndexOf(0x80);
  expect(padded.subarray(end + 1).every((b) => b === 0)).toBe(true);
  return padded.subarray(0, end);
}

/**
 * The data field a TwincardCard method sends, reassembled from its command-chaining blocks. The
 * transport acknowledges each non-final block (9000) as a card does, and refuses the final one
 * (6985), so nothing is parsed from it: this checks what leaves the host, not an answer.
 */
async function dataSent(
  call: (card: TwincardCard) => Promise<unknown>,
  inSession = false,
): Promise<{ cla: number; ins: number; data: Uint8Array }> {
  const blocks: Uint8Array[] = [];
  let ins = -1;
  let firstCla = -1;
  const card = new TwincardCard({
    transmit: async (apdu: Uint8Array) => {
      if (apdu[1] === 0x70) return concatBytes(v('open_session_resp'), fromHex('9000')); // P's 8.9 answer
      const cla = apdu[0] as number;
      if (blocks.length === 0) firstCla = cla & ~0x10;
      ins = apdu[1] as number;
      const lc = apdu[4] as number;
      blocks.push(apdu.slice(5, 5 + lc)); // a copy: the channel wipes its buffers after each exchange
      expect(apdu.length === 5 + lc || apdu.length === 6 + lc).toBe(true);
      return (cla & 0x10) !== 0 ? Uint8Array.of(0x90, 0x00) : Uint8Array.of(0x69, 0x85);
    },
  });
  if (inSession) await card.openSession(parseCertificate(v('certificate')), { hostEphemeralSecret: v('eH').slice() });
  await expect(call(card)).rejects.toThrow('6985');
  expect(blocks.length).toBeGreaterThan(1); // both are longer than one short APDU: chained
  return { cla: firstCla, ins, data: concatBytes(...blocks) };
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
