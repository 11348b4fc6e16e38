/**
 * The CLI's trace redaction, byte for byte, over sessions recorded from the reference applet on virtual
 * cards (test/integration/support/record-redaction.ts): what `twincard ... --trace` prints for every
 * secret-bearing command of the protocol (the primary's wrapped in a card session, section 1.4, replayed with
 * the recorder's seeded session randomness), and that neither the access code nor any byte run of the wallet
 * blob appears anywhere in it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../../src/apdu/index.js';
import { cliTraceRedactor } from '../../../src/cli/trace-redactor.js';
import { twincardRedaction } from '../../../src/protocol/redaction.js';
import { TwincardCard, type TwincardCardOptions } from '../../../src/protocol/card.js';
import { parseCertificate } from '../../../src/protocol/certificate.js';
import { seededRandom } from '../../../src/protocol/seeded-random.js';
import { REDACTION_SEED } from '../../record/transcript-seed.js';
import { ReplayTransport, TracingTransport } from '../../../src/readers/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const transcript = (name: string) => readFileSync(join(here, 'transcripts', `redaction-${name}.apdu`), 'utf8');
const PIN = new TextEncoder().encode('271828');
const WRONG_PIN = new TextEncoder().encode('000000');
const DIGEST = new Uint8Array(32).fill(0x5a);

/** A traced replay of one recorded session; timings replaced by (T) so lines compare exactly. */
function traced(name: string, options: TwincardCardOptions = {}) {
  const replay = new ReplayTransport(transcript(name));
  const lines: string[] = [];
  const transport = new TracingTransport(replay, (l) => lines.push(l.replace(/ \(\d+(\.\d+)? ms\)$/, ' (T)')), cliTraceRedactor());
  return { replay, lines, transport, card: new TwincardCard(transport, options) };
}

/** Replays the three recorded sessions in the order of a v2 backup, driving them as the host did; returns each trace. */
async function replayAll() {
  const b1 = traced('b1');
  await b1.card.select();
  const backupInfo = await b1.card.read();
  const prepared = await b1.card.backupPrepare();
  b1.replay.assertDone();

  // The primary's session, with the host randomness the recorder used, so the wrapped commands are the recorded ones.
  const a1 = traced('a1', { sessionRandom: seededRandom(REDACTION_SEED) });
  await a1.card.select();
  const info = await a1.card.read();
  await a1.card.openSession(parseCertificate(info.certificate!));
  const wallet = await a1.card.createWallet(PIN);
  await expect(a1.card.verifyPin(WRONG_PIN)).rejects.toThrow('63C4');
  await a1.card.verifyPin(PIN);
  await a1.card.sign(DIGEST, wallet);
  const sealed = await a1.card.backupExport({ certificate: backupInfo.certificate!, ...prepared });
  await a1.card.backupFinalize();
  a1.replay.assertDone();

  const b2 = traced('b2');
  await b2.card.select();
  await b2.card.backupImport({ certificate: info.certificate!, ...sealed });
  b2.replay.assertDone();
  return { a1: a1.lines, b1: b1.lines, b2: b2.lines, blob: sealed.blob, wallet };
}

/** A wrapped command line (section 1.4): header, Lc, the marker, the counter, then ciphertext and MAC. */
const wrappedLine = (header: string, ctr: number, tail = '') =>
  new RegExp(`^>> ${header} [0-9A-F]{2} \\[wrapped\\] ${ctr.toString(16).toUpperCase().padStart(8, '0')}[0-9A-F]+${tail}$`);

test('every secret-bearing exchange prints its length only or travels wrapped, byte for byte', async () => {
  const { a1, b2 } = await replayAll();
  // OPEN_SESSION: the host's ephemeral key (public) shown.
  expect(a1[4]).toMatch(/^>> 80700000 43 1D4104[0-9A-F]{128} 00$/);
  // CREATE_WALLET: the new code travels wrapped (ciphertext, shown and marked); the public key shown.
  expect(a1[6]).toMatch(wrappedLine('84300000', 1, ' 00'));
  expect(a1[7]).toMatch(/^<< 054104[0-9A-F]{128} 9000 \(T\)$/);
  // VERIFY_PIN, wrong then right: wrapped both times; the answer (tries left) shown.
  expect(a1[8]).toMatch(wrappedLine('84200000', 2));
  expect(a1[9]).toBe('<< 63C4 (VERIFICATION_FAILED) (T)');
  expect(a1[10]).toMatch(wrappedLine('84200000', 3));
  expect(a1[11]).toBe('<< 9000 (T)');
  // SIGN: wrapped too (the digest inside the session); the signature and counter shown.
  expect(a1[12]).toMatch(wrappedLine('84320000', 4, ' 00'));
  expect(a1[13]).toMatch(/^<< 0B4[67]30[0-9A-F]+070400000001 9000 \(T\)$/);
  // BACKUP_EXPORT: its wrapped data shown in both chained blocks; its answer (EP, seal, blob) hidden, the part
  // that came with 61xx and the GET RESPONSE continuation alike.
  expect(a1[14]).toMatch(/^>> 94620000 FF \[wrapped\] 00000005[0-9A-F]{502}$/);
  expect(a1[15]).toBe('<< 9000 (T)');
  expect(a1[16]).toMatch(/^>> 84620000 [0-9A-F]{2} \[wrapped\] [0-9A-F]+ 00$/);
  expect(a1[17]).toMatch(/^<< \[redacted 256 bytes\] 61[0-9A-F]{2} \(T\)$/);
  expect(a1[18]).toMatch(/^>> 00C00000 [0-9A-F]{2}$/);
  expect(a1[19]).toMatch(/^<< \[redacted \d+ bytes\] 9000 \(T\)$/);
  // BACKUP_FINALIZE after it: wrapped, its answer shown again.
  expect(a1[20]).toMatch(wrappedLine('84640000', 6, ' 00'));
  expect(a1.slice(21)).toEqual(['<< 080101 9000 (T)']);
  // BACKUP_IMPORT (plain: the blob is sealed to the card): hidden in all three chained blocks; the answer
  // (public key, result) shown.
  expect(b2[2]).toBe('>> 90660000 FF [redacted 255 bytes]');
  expect(b2[3]).toBe('<< 9000 (T)');
  expect(b2[4]).toBe('>> 90660000 FF [redacted 255 bytes]');
  expect(b2[5]).toBe('<< 9000 (T)');
  expect(b2[6]).toMatch(/^>> 80660000 [0-9A-F]{2} \[redacted \d+ bytes\] 00$/);
  expect(b2[7]).toMatch(/^<< 054104[0-9A-F]{128}170100 9000 \(T\)$/);
});

test('the whole trace equals the reviewed one', async () => {
  const { a1, b1, b2 } = await replayAll();
  const golden = readFileSync(join(here, 'transcripts', 'redaction.trace'), 'utf8');
  expect(['# b1', ...b1, '# a1', ...a1, '# b2', ...b2].join('\n') + '\n').toBe(golden);
});

test('neither the access code nor any 8-byte run of the blob IV, ciphertext or tag appears anywhere in the trace', async () => {
  const { a1, b1, b2, blob } = await replayAll();
  const text = [...b1, ...a1, ...b2].join('\n');
  expect(text).not.toContain(toHex(PIN));
  const secret = blob.subarray(17); // IV, ciphertext, tag (the 17-byte header names the two cards: public)
  for (let i = 0; i + 8 <= secret.length; i++) expect(text).not.toContain(toHex(secret.subarray(i, i + 8)));
  // ... although the recorded sessions do contain the blob (the test would catch a redactor that lets it through).
  const raw = ['a1', 'b2'].map(transcript).join('\n');
  expect(raw).toContain(toHex(blob.subarray(0, 64)));
  // The code itself went only wrapped, so it is in no recorded byte either; a host that sent it plain would
  // have it hidden by the same redactor.
  expect(raw).not.toContain(toHex(PIN));
  const plainVerify = Uint8Array.of(0x80, 0x20, 0, 0, PIN.length, ...PIN);
  const view = cliTraceRedactor().command(plainVerify);
  expect(view.hideData).toBe(true);
});

test('ISO PIN commands of any card are hidden too; other interindustry and proprietary commands are not', () => {
  const h = (cla: number, ins: number) => ({ cla, ins, p1: 0, p2: 0x80 });
  for (const ins of [0x20, 0x21, 0x24, 0x26, 0x28, 0x2c]) {
    expect(twincardRedaction(h(0x00, ins))).toEqual({ command: true });
    expect(twincardRedaction(h(0x10, ins))).toEqual({ command: true }); // a chained block
  }
  expect(twincardRedaction(h(0x00, 0xa4))).toBeUndefined();
  expect(twincardRedaction(h(0x00, 0xb0))).toBeUndefined();
  expect(twincardRedaction(h(0x84, 0x24))).toEqual({ wrapped: true }); // twincard wrapped CHANGE_ACCESS_CODE: ciphertext
  expect(twincardRedaction(h(0x80, 0x20))).toEqual({ command: true }); // twincard VERIFY_PIN, plain
  expect(twincardRedaction(h(0x80, 0x62))).toEqual({ response: true }); // twincard BACKUP_EXPORT
});

test('the CLI redactor follows a GET RESPONSE after BACKUP_EXPORT', () => {
  const redact = cliTraceRedactor();
  redact.command(Uint8Array.of(0x84, 0x62, 0, 0, 1, 0xaa, 0));
  const get = redact.command(Uint8Array.of(0x00, 0xc0, 0, 0, 0x10));
  expect(get.isGetResponse).toBe(true);
  expect(redact.response(new Uint8Array(18).fill(0x61)).hideData).toBe(true);
});
