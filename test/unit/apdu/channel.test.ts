import { ApduChannel, ConcurrentExchangeError, getResponseCla, ResponseChainError, type ApduTransport } from '../../../src/apdu/channel.js';
import { ApduFormatError, command } from '../../../src/apdu/command.js';
import { fromHex, toHex } from '../../../src/apdu/hex.js';
import { extendStatusTable, ISO_STATUS_WORDS, StatusWordError } from '../../../src/apdu/status.js';
import { TranscriptTransport } from './transcript.js';

/** The object the transcripts' responses carry: byte i = i mod 256. */
const responseObject = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);
/** The data the transcripts' chained commands carry: byte i = (7i + 3) mod 256. */
const commandData = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

describe('TranscriptTransport (the test double must fail, or the tests below prove nothing)', () => {
  test('a different APDU fails with the transcript line, and keeps failing', async () => {
    const t = new TranscriptTransport('# comment\n=> 00A4040000\n<= 9000\n');
    await expect(t.transmit(fromHex('00A4040100'))).rejects.toThrow('transcript line 2: expected => 00A4040000, got => 00A4040100');
    await expect(t.transmit(fromHex('00A4040000'))).rejects.toThrow('transcript line 2');
    expect(() => t.assertDone()).toThrow('transcript line 2');
  });
  test('an APDU past the end fails; exchanges left over fail assertDone', async () => {
    const t = new TranscriptTransport('=> 00B0000000\n<= 9000\n=> 00B0000000\n<= 6A82');
    expect(toHex(await t.transmit(fromHex('00B0000000')))).toBe('9000');
    expect(() => t.assertDone()).toThrow('1 exchange(s) of the transcript never sent, next at line 3: => 00B0000000');
    expect(toHex(await t.transmit(fromHex('00B0000000')))).toBe('6A82');
    t.assertDone();
    await expect(t.transmit(fromHex('00B0000000'))).rejects.toThrow('transcript ended, but the code sent => 00B0000000');
  });
  test('malformed transcripts are refused', () => {
    expect(() => new TranscriptTransport('=> 00\n=> 00')).toThrow('line 2: two commands without a response');
    expect(() => new TranscriptTransport('<= 9000')).toThrow('line 1: response without a command');
    expect(() => new TranscriptTransport('=> 00')).toThrow('line 1: command without a response');
    expect(() => new TranscriptTransport('>> 00')).toThrow('line 1: expected');
  });
});

describe('ApduChannel over recorded transcripts', () => {
  test("61xx chain: 600 bytes as 6100 / 6100 / 6158, GET RESPONSE on the command's logical channel", async () => {
    const t = TranscriptTransport.fromFile('response-chain-600.apdu');
    const channel = new ApduChannel(t);
    const response = await channel.send(command(0x81, 0x50, 0x00, 0x00, responseObject(16)));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(toHex(responseObject(600)));
    t.assertDone();
  });

  test('Ne over 256 on a short-only channel: Le 00, then response chaining', async () => {
    const t = TranscriptTransport.fromFile('ne-over-256-short.apdu');
    const data = await new ApduChannel(t).sendOk(command(0x80, 0xca, 0x00, 0x00, undefined, 600));
    expect(toHex(data)).toBe(toHex(responseObject(600)));
    t.assertDone();
  });

  test('6Cxx: the same command is sent again once with Le = xx', async () => {
    const t = new TranscriptTransport(`
      # READ BINARY asking 256 bytes; the file has 16 (ISO 7816-3 12.2.2 "wrong Le")
      => 00B0000000
      <= 6C10
      => 00B0000010
      <= 000102030405060708090A0B0C0D0E0F 9000
    `);
    const response = await new ApduChannel(t).send(command(0x00, 0xb0, 0x00, 0x00, undefined, 256));
    expect(response).toEqual({ data: responseObject(16), sw: 0x9000 });
    t.assertDone();
  });

  test('6C00 means Le 00, and the resent command may itself be response-chained', async () => {
    const t = new TranscriptTransport(`
      => 80CA000010
      <= 6C00
      => 80CA000000
      <= 0001 6102
      => 00C0000002
      <= 0203 9000
    `);
    const response = await new ApduChannel(t).send(command(0x80, 0xca, 0x00, 0x00, undefined, 16));
    expect(response).toEqual({ data: responseObject(4), sw: 0x9000 });
    t.assertDone();
  });

  test('6Cxx is corrected only once: a second 6Cxx is returned as it is', async () => {
    const t = new TranscriptTransport(`
      => 00B0000000
      <= 6C10
      => 00B0000010
      <= 6C08
    `);
    const response = await new ApduChannel(t).send(command(0x00, 0xb0, 0x00, 0x00, undefined, 256));
    expect(response).toEqual({ data: new Uint8Array(0), sw: 0x6c08 });
    t.assertDone();
  });

  test('command chaining: 600 bytes as 255 / 255 / 90 with CLA 90, 90, 80', async () => {
    const t = TranscriptTransport.fromFile('command-chain-600.apdu');
    const data = await new ApduChannel(t).sendOk(command(0x80, 0xd6, 0x00, 0x00, commandData(600), 256), 'IMPORT');
    expect(toHex(data)).toBe('010203');
    t.assertDone();
  });

  test('an error mid-chain ends the chain and is returned', async () => {
    const t = TranscriptTransport.fromFile('command-chain-error.apdu');
    const response = await new ApduChannel(t).send(command(0x80, 0xd6, 0x00, 0x00, commandData(600), 256));
    expect(response).toEqual({ data: new Uint8Array(0), sw: 0x6a84 });
    t.assertDone();
  });

  test('sendOk turns the mid-chain error into a StatusWordError named by the protocol table', async () => {
    const table = extendStatusTable(ISO_STATUS_WORDS, {
      0x6a84: { name: 'CHAIN_TOO_LONG', meaning: 'chained data longer than 512 bytes' },
    });
    const t = TranscriptTransport.fromFile('command-chain-error.apdu');
    const send = new ApduChannel(t).sendOk(command(0x80, 0xd6, 0x00, 0x00, commandData(600)), 'IMPORT_WALLET', table);
    await expect(send).rejects.toThrow(StatusWordError);
    await expect(send).rejects.toMatchObject({
      message: 'IMPORT_WALLET: SW=0x6A84 (CHAIN_TOO_LONG: chained data longer than 512 bytes)',
      sw: 0x6a84,
      statusName: 'CHAIN_TOO_LONG',
    });
    t.assertDone();
  });

  test('extended length: the same 600 bytes in one APDU each way', async () => {
    const t = TranscriptTransport.fromFile('extended-600.apdu');
    const channel = new ApduChannel(t, { extendedLength: true });
    const data = await channel.sendOk(command(0x80, 0xd6, 0x00, 0x00, commandData(600), 65536));
    expect(toHex(data)).toBe(toHex(responseObject(600)));
    t.assertDone();
  });

  test('extended channel still sends short APDUs when they fit; maxCommandData chains extended blocks', async () => {
    const t = new TranscriptTransport(`
      => 80D6000003 000102 00
      <= 9000
      => 90D6000000 0190 ${toHex(commandData(400))}
      <= 9000
      # every APDU in its own best form: the 100-byte last block fits a short APDU
      => 80D6000064 ${toHex(commandData(500).subarray(400))}
      <= 9000
    `);
    const channel = new ApduChannel(t, { extendedLength: true, maxCommandData: 400 });
    await channel.sendOk(command(0x80, 0xd6, 0x00, 0x00, Uint8Array.of(0, 1, 2), 256));
    await channel.sendOk(command(0x80, 0xd6, 0x00, 0x00, commandData(500)));
    t.assertDone();
  });

  test('a card answering 61xx forever hits the cap', async () => {
    const t = new TranscriptTransport(`
      => 8050000000
      <= AA 6101
      => 00C0000001
      <= BB 6101
      => 00C0000001
      <= CC 6101
      => 00C0000001
      <= DD 6101
    `);
    const send = new ApduChannel(t, { maxResponseChain: 3 }).send(command(0x80, 0x50, 0x00, 0x00, undefined, 256));
    await expect(send).rejects.toThrow(ResponseChainError);
    await expect(send).rejects.toThrow('response chaining did not end: still 0x6101 after 3 GET RESPONSE commands');
    t.assertDone(); // and no fourth GET RESPONSE went out
  });

  test('the default cap is 64 GET RESPONSE commands', async () => {
    const lines = ['=> 8050000000', '<= 6100'];
    for (let i = 0; i < 64; i++) lines.push('=> 00C0000000', '<= 6100');
    const t = new TranscriptTransport(lines.join('\n'));
    const send = new ApduChannel(t).send(command(0x80, 0x50, 0x00, 0x00, undefined, 256));
    await expect(send).rejects.toMatchObject({ name: 'ResponseChainError', getResponses: 64 });
    t.assertDone();
  });

  test('a second send while one is in flight is rejected, not interleaved', async () => {
    const t = new TranscriptTransport(`
      => 80100000 00
      <= 0101 6102
      => 00C0000002
      <= 0303 9000
      => 80200000 00
      <= 9000
    `);
    // Hold every transmit until the test lets it go, so the first exchange is really in flight.
    const gates: Array<() => void> = [];
    const gated: ApduTransport = {
      transmit: (apdu) => new Promise<void>((resolve) => gates.push(resolve)).then(() => t.transmit(apdu)),
    };
    const channel = new ApduChannel(gated);
    const first = channel.send(command(0x80, 0x10, 0x00, 0x00, undefined, 256));
    const refused = channel.send(command(0x80, 0x20, 0x00, 0x00, undefined, 256));
    await expect(refused).rejects.toThrow(ConcurrentExchangeError);
    await expect(refused).rejects.toMatchObject({ name: 'ConcurrentExchangeError', where: 'ApduChannel' });
    gates.shift()!();
    // Between the command and its GET RESPONSE the exchange is still in progress.
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    await expect(channel.sendOk(command(0x80, 0x20, 0x00, 0x00))).rejects.toThrow(ConcurrentExchangeError);
    gates.shift()!();
    expect(await first).toEqual({ data: fromHex('01010303'), sw: 0x9000 });
    // Done: the channel takes the next command.
    const third = channel.send(command(0x80, 0x20, 0x00, 0x00, undefined, 256));
    while (gates.length === 0) await new Promise((r) => setImmediate(r));
    gates.shift()!();
    expect((await third).sw).toBe(0x9000);
    t.assertDone();
  });

  test('a failed exchange releases the channel', async () => {
    let calls = 0;
    const flaky: ApduTransport = {
      transmit: async () => {
        calls++;
        if (calls === 1) throw new Error('Card was removed. (0x80100069)');
        if (calls === 2) return fromHex('90'); // one byte: not a response APDU
        return fromHex('9000');
      },
    };
    const channel = new ApduChannel(flaky);
    const select = command(0x00, 0xa4, 0x04, 0x00, fromHex('F07477696E6361726401'), 256);
    await expect(channel.send(select)).rejects.toThrow('Card was removed');
    await expect(channel.send(select)).rejects.toThrow(ApduFormatError);
    await expect(channel.send(select)).resolves.toEqual({ data: new Uint8Array(0), sw: 0x9000 });
  });
});

describe('ApduChannel argument checks', () => {
  const transport: ApduTransport = { transmit: async () => fromHex('9000') };
  test('options', () => {
    expect(() => new ApduChannel({} as ApduTransport)).toThrow(TypeError);
    expect(() => new ApduChannel(transport, { maxCommandData: 256 })).toThrow('ApduChannel: maxCommandData: expected 1..255, got 256');
    expect(() => new ApduChannel(transport, { maxCommandData: 0 })).toThrow(RangeError);
    expect(() => new ApduChannel(transport, { extendedLength: true, maxCommandData: 65536 })).toThrow(RangeError);
    expect(() => new ApduChannel(transport, { maxResponseChain: -1 })).toThrow(RangeError);
    expect(() => new ApduChannel(transport, { extendedLength: 'yes' as unknown as boolean })).toThrow(TypeError);
  });
  test('commands', async () => {
    const channel = new ApduChannel(transport);
    await expect(channel.send({ cla: 0x100, ins: 0, p1: 0, p2: 0, data: new Uint8Array(0), ne: 0 })).rejects.toThrow(
      'cla: expected 0..255, got 256',
    );
    await expect(channel.send(command(0x90, 0xd6, 0, 0, new Uint8Array(256)))).rejects.toThrow('CLA 0x90 already has the chaining bit');
    // Still usable after a refused command.
    await expect(channel.sendOk(command(0x80, 0x10, 0, 0))).resolves.toEqual(new Uint8Array(0));
  });
});

test.each([
  [0x00, 0x00],
  [0x80, 0x00],
  [0x03, 0x03],
  [0x13, 0x03], // chaining bit dropped
  [0x0c, 0x00], // secure messaging bits dropped
  [0x81, 0x01],
  [0x90, 0x00],
  [0x40, 0x40],
  [0x4f, 0x4f],
  [0x7a, 0x4a], // further interindustry: SM and chaining bits dropped, channel kept
  [0xc5, 0x45],
])('GET RESPONSE CLA for command CLA %d is %d', (cla, expected) => {
  expect(getResponseCla(cla)).toBe(expected);
});
