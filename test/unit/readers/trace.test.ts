import { TracingTransport } from '../../../src/readers/index.js';
import { fromHex } from '../../../src/apdu/index.js';
import { ApduChannel, command, ExchangeRedactor, type RedactionPolicy } from '../../../src/apdu/index.js';
import { TranscriptTransport } from '../apdu/transcript.js';

// Recorded from the fixture's loopback applet through pcscd (twincard apdu --trace), then cut down.
const RECORDED = `
=> 00A404000AF07477696E63617264FE00
<= 9000
=> 80036A8200
<= 6A82
=> 8002012C00
<= ${'00010203'.repeat(64)}612C
=> 00C000002C
<= 0405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F9000
`;

const lines = (sink: string[]) => (line: string) => sink.push(line.replace(/\(\d+(\.\d+)? ms\)$/, '(T)'));

describe('TracingTransport', () => {
  test('prints GlobalPlatformPro-style lines with SW names for errors', async () => {
    const out: string[] = [];
    const channel = new ApduChannel(new TracingTransport(new TranscriptTransport(RECORDED), lines(out)));
    await channel.send(command(0x00, 0xa4, 0x04, 0x00, fromHex('F07477696E63617264FE'), 256));
    await channel.send(command(0x80, 0x03, 0x6a, 0x82, undefined, 256));
    expect(out).toEqual(['>> 00A40400 0A F07477696E63617264FE 00', '<< 9000 (T)', '>> 80036A82 00', '<< 6A82 (FILE_NOT_FOUND) (T)']);
  });

  test('redacts data by command, and a GET RESPONSE inherits the redaction', async () => {
    const out: string[] = [];
    const policy: RedactionPolicy = (h) => (h.ins === 0x02 ? { response: true } : h.ins === 0x03 ? { command: true } : undefined);
    const transport = new TracingTransport(new TranscriptTransport(RECORDED), lines(out), new ExchangeRedactor(policy));
    const channel = new ApduChannel(transport);
    await channel.send(command(0x00, 0xa4, 0x04, 0x00, fromHex('F07477696E63617264FE'), 256));
    await channel.send(command(0x80, 0x03, 0x6a, 0x82, undefined, 256));
    const long = await channel.send(command(0x80, 0x02, 0x01, 0x2c, undefined, 256));
    expect(long.data.length).toBe(300);
    expect(out.slice(4)).toEqual([
      '>> 8002012C 00',
      '<< [redacted 256 bytes] 612C (T)',
      '>> 00C00000 2C',
      '<< [redacted 44 bytes] 9000 (T)',
    ]);
    expect(out.join('\n')).not.toContain('00010203');
  });

  test('malformed bytes are printed as their header only (nothing tells which bytes are secret), never thrown', async () => {
    const out: string[] = [];
    const inner = new TranscriptTransport('=> 00A4\n<= 9\n'.replace('9\n', '90\n'));
    const transport = new TracingTransport(inner, lines(out));
    await transport.transmit(fromHex('00A4')).catch(() => undefined);
    expect(out[0]).toBe('>> 00A4 [2 bytes, malformed: body not shown]');
  });

  test('a malformed command with a body shows its header and length, not the body', async () => {
    const out: string[] = [];
    const inner = new TranscriptTransport('=> 0020008005313233\n<= 6700\n');
    const transport = new TracingTransport(inner, lines(out));
    await transport.transmit(fromHex('0020008005313233'));
    expect(out[0]).toBe('>> 00200080 [8 bytes, malformed: body not shown]');
  });
});

describe('TracingTransport with the twincard policy', () => {
  test('a wrapped command is shown (ciphertext) and marked; a plain access code is hidden', async () => {
    const { createExchangeRedactor } = await import('../../../src/protocol/redaction.js');
    const wrapped = `84200000 34 ${'11'.repeat(52)}`.replaceAll(' ', '');
    const t = new TranscriptTransport(`=> ${wrapped}\n<= 9000\n=> 8020000006313233343536\n<= 6987\n`);
    const out: string[] = [];
    const transport = new TracingTransport(t, lines(out), createExchangeRedactor());
    await transport.transmit(fromHex(wrapped));
    await transport.transmit(fromHex('8020000006313233343536'));
    t.assertDone();
    expect(out).toEqual([
      `>> 84200000 34 [wrapped] ${'11'.repeat(52)}`,
      '<< 9000 (T)',
      '>> 80200000 06 [redacted 6 bytes]',
      '<< 6987 (SM_DATA_OBJECTS_MISSING) (T)', // the card refuses a plain VERIFY_PIN
    ]);
  });
});
