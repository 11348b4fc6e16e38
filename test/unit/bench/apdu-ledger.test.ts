/**
 * The bench's APDU ledger over recorded sessions (strict replay): every wire APDU counted once, command
 * chain blocks and GET RESPONSEs told apart, bytes as they crossed the reader. Also the loopback reshaping
 * the transport baseline uses, and the order statistics.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ApduChannel, command, decodeCommand } from '../../../src/apdu/index.js';
import { ApduLedger, classifyCommand } from '../../../src/bench/apdu-ledger.js';
import { loopbackApdu, stepLabels } from '../../../src/bench/backup-measure.js';
import { quantile, ratio, summarize } from '../../../src/bench/stats.js';
import { parseTranscript, ReplayTransport } from '../../../src/readers/index.js';

const transcript = (name: string) => readFileSync(fileURLToPath(new URL(`../apdu/transcripts/${name}`, import.meta.url)), 'utf8');
const bytesOf = (hex: string) => hex.length / 2;

describe('ApduLedger', () => {
  test('a 600-byte command chain: two chain blocks and one command, bytes as recorded', async () => {
    const text = transcript('command-chain-600.apdu');
    const recorded = parseTranscript(text);
    const replay = new ReplayTransport(text);
    const ledger = new ApduLedger();
    ledger.step = 'chain';
    const channel = new ApduChannel(ledger.wrap(replay, 'reader A'));
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 7 + 3) & 0xff);
    const response = await channel.send(command(0x80, 0xd6, 0, 0, data, 256));
    replay.assertDone();
    expect(response.sw).toBe(0x9000);
    expect(ledger.totals()).toMatchObject({
      apdus: 3,
      commands: 1,
      chainBlocks: 2,
      getResponses: 0,
      bytesOut: recorded.reduce((a, e) => a + bytesOf(e.command), 0),
      bytesIn: recorded.reduce((a, e) => a + e.response.length, 0),
    });
    expect(ledger.exchanges.map((e) => [e.reader, e.step, e.kind, e.sw])).toEqual([
      ['reader A', 'chain', 'chain-block', 0x9000],
      ['reader A', 'chain', 'chain-block', 0x9000],
      ['reader A', 'chain', 'command', 0x9000],
    ]);
    expect(ledger.exchanges.every((e) => e.ms >= 0)).toBe(true);
  });

  test('a 600-byte answer through GET RESPONSE: one command and three GET RESPONSEs', async () => {
    const text = transcript('response-chain-600.apdu');
    const recorded = parseTranscript(text);
    const replay = new ReplayTransport(text);
    const ledger = new ApduLedger();
    const channel = new ApduChannel(ledger.wrap(replay, 'r'));
    const first = recorded[0]!.command;
    const decoded = decodeCommand(Uint8Array.from(Buffer.from(first, 'hex')));
    const response = await channel.send(command(decoded.cla, decoded.ins, decoded.p1, decoded.p2, decoded.data, decoded.ne));
    replay.assertDone();
    expect(response.data.length).toBe(600);
    const totals = ledger.totals();
    expect(totals).toMatchObject({ apdus: 4, commands: 1, chainBlocks: 0, getResponses: 3 });
    expect(totals.bytesOut).toBe(recorded.reduce((a, e) => a + bytesOf(e.command), 0));
    expect(totals.bytesIn).toBe(600 + 4 * 2); // the data once, and a status word per APDU
  });

  test('an exchange that throws is counted (no response bytes, sw -1) and the error passes through', async () => {
    const ledger = new ApduLedger();
    const replay = new ReplayTransport('=> 00A4040000\n<= 9000\n');
    const t = ledger.wrap(replay, 'r');
    await expect(t.transmit(Uint8Array.from([0x00, 0xb0, 0x00, 0x00, 0x00]))).rejects.toThrow('expected => 00A4040000');
    expect(ledger.exchanges).toHaveLength(1);
    expect(ledger.exchanges[0]).toMatchObject({ commandBytes: 5, responseBytes: 0, sw: -1, kind: 'command' });
  });

  test('relabel moves exchanges to the step that really ran', async () => {
    const ledger = new ApduLedger();
    const t = ledger.wrap(new ReplayTransport('=> 00A4040000\n<= 9000\n=> 00A4040000\n<= 9000\n'), 'r');
    ledger.step = 'import-1';
    await t.transmit(Uint8Array.from([0, 0xa4, 4, 0, 0]));
    const from = ledger.exchanges.length;
    await t.transmit(Uint8Array.from([0, 0xa4, 4, 0, 0]));
    ledger.relabel(from, 'import-2');
    expect(ledger.exchanges.map((e) => e.step)).toEqual(['import-1', 'import-2']);
  });

  test.each([
    [[0x80, 0x10, 0, 0, 0], 'command'],
    [[0x90, 0x52, 0, 0, 1, 0], 'chain-block'],
    [[0x00, 0xc0, 0, 0, 0x10], 'get-response'],
    [[0x80, 0xc0, 0, 0, 0x10], 'get-response'],
    [[0x00, 0xa4, 4, 0, 0], 'command'],
  ] as const)('classifyCommand(%j) = %s', (apdu, kind) => {
    expect(classifyCommand(Uint8Array.from(apdu))).toBe(kind);
  });
});

describe('loopbackApdu: the same command size, an answer of the same size', () => {
  // The shapes a backup produces: SELECT 16 -> 8, READ 5 -> 255, VERIFY_PIN 11 -> 2, a chain block 260 -> 2,
  // LINK_PRIMARY's last block 47 -> 140, EXPORT_WALLET 14 -> 198, IMPORT_WALLET 202 -> 72, FINALIZE 5 -> 5.
  test.each([
    [16, 8],
    [5, 255],
    [5, 258],
    [11, 2],
    [260, 2],
    [47, 140],
    [14, 198],
    [202, 72],
    [5, 5],
    [4, 2],
    [261, 258],
  ])('%i command bytes answering %i bytes', (commandBytes, responseBytes) => {
    const apdu = loopbackApdu(commandBytes, responseBytes);
    expect(apdu.length).toBe(commandBytes);
    const decoded = decodeCommand(apdu);
    expect([decoded.cla, decoded.ins]).toEqual([0x80, 0x02]);
    expect((decoded.p1 << 8) | decoded.p2).toBe(responseBytes - 2); // the loopback sends P1P2 bytes
    expect(decoded.ne).toBeGreaterThanOrEqual(responseBytes - 2);
  });

  test.each([
    [4, 10],
    [6, 10],
    [262, 2],
    [5, 259],
    [3, 2],
    [10, 1],
  ])('%i command bytes answering %i bytes cannot be shaped: RangeError', (commandBytes, responseBytes) => {
    expect(() => loopbackApdu(commandBytes, responseBytes)).toThrow(RangeError);
  });
});

describe('stats', () => {
  test('nearest-rank quantiles: observed values', () => {
    const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted
    expect(quantile(twenty, 0.5)).toBe(10);
    expect(quantile(twenty, 0.95)).toBe(19);
    expect(quantile(twenty, 1)).toBe(20);
    expect(quantile(twenty, 0)).toBe(1);
    expect(summarize([3, 1, 2])).toEqual({ n: 3, min: 1, median: 2, p95: 3, max: 3, mean: 2 });
  });
  test('no samples, NaN, or q out of range: RangeError; a ratio to 0 is null', () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, Number.NaN])).toThrow('not a finite sample: NaN');
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(3, 2)).toBe(1.5);
  });
  test('the steps of a backup, in the order a bench runs them', () => {
    expect(stepLabels(1)).toEqual(['prepare-backup-1', 'export-primary', 'import-1']);
    expect(stepLabels(2)).toEqual(['prepare-backup-1', 'prepare-backup-2', 'export-primary', 'import-1', 'import-2']);
  });
});
