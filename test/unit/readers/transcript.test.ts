/**
 * The `--record` file format: a redacted transcript (`..` per secret byte) that ReplayTransport still
 * replays, strictly everywhere else.
 */
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { recordHeader } from '../../../src/cli/record.js';
import { createExchangeRedactor } from '../../../src/protocol/redaction.js';
import { parseTranscript, RecordingTransport, ReplayTransport } from '../../../src/readers/index.js';

// A session as a card answered it (cut from the reference applet): SELECT, plain VERIFY_PIN with the code
// 313233343536, a BACKUP_EXPORT whose answer comes in two parts, READ.
const SESSION = `
=> 00A404000AF07477696E636172640100
<= 9000
=> 8020000006313233343536
<= 9000
=> 8462000004CAFEBABE00
<= ${'AB'.repeat(256)}6104
=> 00C0000004
<= ABABABAB9000
=> 8010000000
<= 0101029000
`;
const PIN_HEX = '313233343536';

async function record(): Promise<string> {
  const recorder = new RecordingTransport(new ReplayTransport(SESSION), createExchangeRedactor());
  for (const { command } of parseTranscript(SESSION)) await recorder.transmit(fromHex(command));
  return recorder.transcript();
}

test('secret bytes are written .., everything else as sent; the status words stay', async () => {
  const text = await record();
  expect(text.split('\n')).toEqual([
    '=> 00A404000AF07477696E636172640100',
    '<= 9000',
    `=> 8020000006 ${'..'.repeat(6)}`,
    '<= 9000',
    '=> 8462000004CAFEBABE00', // wrapped data is ciphertext: kept
    `<= ${'..'.repeat(256)} 6104`,
    '=> 00C0000004',
    `<= ${'..'.repeat(4)} 9000`, // the continuation of BACKUP_EXPORT's answer
    '=> 8010000000',
    '<= 0101029000',
    '',
  ]);
  expect(text).not.toContain(PIN_HEX);
  expect(text).not.toContain('ABAB');
});

test('a redacted transcript replays: .. matches any byte of a command, and replays as 00 in a response', async () => {
  const replay = new ReplayTransport(await record());
  await replay.transmit(fromHex('00A404000AF07477696E636172640100'));
  // Any code of the same length matches the redacted VERIFY_PIN.
  expect(toHex(await replay.transmit(fromHex('8020000006000000000000')))).toBe('9000');
  const first = await replay.transmit(fromHex('8462000004CAFEBABE00'));
  expect(first.length).toBe(258);
  expect(first.subarray(0, 256).every((b) => b === 0)).toBe(true);
  expect(toHex(first.subarray(256))).toBe('6104');
  expect(toHex(await replay.transmit(fromHex('00C0000004')))).toBe('000000009000');
  expect(toHex(await replay.transmit(fromHex('8010000000')))).toBe('0101029000');
  replay.assertDone();
});

test('a wildcard still checks the length and every byte in clear', async () => {
  const text = await record();
  const tooLong = new ReplayTransport(text);
  await tooLong.transmit(fromHex('00A404000AF07477696E636172640100'));
  await expect(tooLong.transmit(fromHex('802000000700000000000000'))).rejects.toThrow(
    /line 3: expected => 8020000006\.{12}, got => 8020000007/,
  );
  const otherIns = new ReplayTransport(text);
  await otherIns.transmit(fromHex('00A404000AF07477696E636172640100'));
  await expect(otherIns.transmit(fromHex('8030000006000000000000'))).rejects.toThrow('line 3');
});

test('the parser refuses a redacted status word and anything that is neither hex nor ..', () => {
  expect(() => parseTranscript('=> 8010000000\n<= 01 ....\n')).toThrow('line 2: the status word must be in clear');
  expect(() => parseTranscript('=> 80.X000000\n<= 9000\n')).toThrow(`line 1: ".X" is neither a hex byte nor '..'`);
  expect(() => parseTranscript('=> 801\n<= 9000\n')).toThrow('line 1: odd number of digits');
});

test('without a redactor the recorder keeps everything (fixtures of sessions without secrets)', async () => {
  const recorder = new RecordingTransport(new ReplayTransport('=> 8020000002AABB\n<= 9000\n'));
  await recorder.transmit(fromHex('8020000002AABB'));
  expect(recorder.transcript()).toBe('=> 8020000002AABB\n<= 9000\n');
});

test('the header names the version, the command and the date, as comments, one line each', () => {
  const header = recordHeader({ command: 'backup\n=> 00', startedAt: new Date('2026-12-01T15:00:00Z') });
  const lines = header.trimEnd().split('\n');
  expect(lines.every((l) => l.startsWith('# '))).toBe(true);
  // a newline in what the header names cannot forge an exchange
  expect(lines[0]).toMatch(/^# twincard \d+\.\d+\.\d+\S* session transcript \(--record\): backup\?=> 00$/);
  expect(lines[1]).toBe('# date: 2026-12-01T15:00:00.000Z');
  expect(parseTranscript(header)).toEqual([]);
});

test('an exchange that failed is kept as comments (the transcript still parses)', async () => {
  const failing = { transmit: () => Promise.reject(new Error('transmit to Virtual PCD 00 00: Card was removed.\nagain')) };
  const recorder = new RecordingTransport(failing, createExchangeRedactor());
  await expect(recorder.transmit(fromHex('8020000006313233343536'))).rejects.toThrow('Card was removed');
  expect(recorder.transcript()).toBe(
    `# => 8020000006 ${'..'.repeat(6)}\n# no answer: Error: transmit to Virtual PCD 00 00: Card was removed. again\n`,
  );
  expect(parseTranscript(recorder.transcript())).toEqual([]);
});
