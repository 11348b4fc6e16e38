/**
 * The deadline on exchanges (a wedged reader must not hang the CLI) and the typed race errors.
 */
import { ConcurrentExchangeError, ExchangeTimeoutError, TimeoutTransport, type ApduTransport } from '../../../src/apdu/index.js';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { TranscriptTransport } from './transcript.js';

/** A reader that took the command and never answers (what a wedged driver looks like from here). */
const wedged: ApduTransport = { transmit: () => new Promise<Uint8Array>(() => undefined) };

test('an exchange that does not answer in time ends in ExchangeTimeoutError naming the time', async () => {
  const transport = new TimeoutTransport(wedged, 50);
  const started = Date.now();
  const error = await transport.transmit(fromHex('80100000')).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ExchangeTimeoutError);
  expect((error as ExchangeTimeoutError).timeoutMs).toBe(50);
  expect((error as Error).message).toContain('no answer from the card after 0.1 s');
  expect(Date.now() - started).toBeGreaterThanOrEqual(45);
});

test('after a timeout nothing more is sent into the stuck reader', async () => {
  let sent = 0;
  const counting: ApduTransport = {
    transmit: () => {
      sent++;
      return new Promise<Uint8Array>(() => undefined);
    },
  };
  const transport = new TimeoutTransport(counting, 20);
  await expect(transport.transmit(fromHex('80100000'))).rejects.toThrow(ExchangeTimeoutError);
  await expect(transport.transmit(fromHex('80100000'))).rejects.toThrow('on an earlier command');
  expect(sent).toBe(1);
});

test('answers in time pass through unchanged; errors of the transport too', async () => {
  const replay = new TranscriptTransport('=> 80100000\n<= 0102 9000\n');
  const transport = new TimeoutTransport(replay, 1000);
  expect(toHex(await transport.transmit(fromHex('80100000')))).toBe('01029000');
  await expect(transport.transmit(fromHex('80100000'))).rejects.toThrow('transcript ended');
  expect(replay.replayed).toBe(1);
});

test('the default is generous (30 s) and an out-of-range timeout is refused', () => {
  expect(() => new TimeoutTransport(wedged, 0)).toThrow(RangeError);
  expect(() => new TimeoutTransport(wedged, 1.5)).toThrow(TypeError);
  expect(() => new TimeoutTransport(wedged)).not.toThrow();
});

test('ConcurrentExchangeError says where and what to do', () => {
  const error = new ConcurrentExchangeError('transmit to Virtual PCD 00 00');
  expect(error.name).toBe('ConcurrentExchangeError');
  expect(error.where).toBe('transmit to Virtual PCD 00 00');
  expect(error.message).toBe(
    'transmit to Virtual PCD 00 00: an exchange is already in progress; APDUs go one at a time (await the previous one)',
  );
});
