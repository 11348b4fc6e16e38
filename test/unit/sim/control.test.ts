/**
 * The control-socket client against a real local socket server that answers what a broken or hostile card
 * process might: every answer that is not exactly one line of printable UTF-8 of the expected shape is an error
 * naming what was wrong, and nothing hangs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  exchangeControlLine,
  MAX_ANSWER_BYTES,
  parseCardStatus,
  parseCommandAnswer,
  simCardStatus,
  simControl,
  SimControlError,
} from '../../../src/sim/index.js';

const ROOT = `04${'AB'.repeat(64)}`;
let dir: string;
let server: Server | undefined;
/** What the server saw, one entry per connection. */
let received: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'twincard-control-'));
  received = [];
});
afterEach(async () => {
  if (server !== undefined) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A card-0 control socket in `dir` whose behaviour on each connection is `answer`, called once the request line is in. */
async function card(answer: (socket: Socket, line: string) => void): Promise<string> {
  const path = join(dir, 'card-0.sock');
  server = createServer((socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const end = text.indexOf('\n');
      if (end < 0) return;
      received.push(text.slice(0, end));
      answer(socket, text.slice(0, end));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return path;
}

const say = (bytes: string | Buffer) => (socket: Socket) => socket.end(bytes);

test('a well-formed answer: one line, the request sent as one line', async () => {
  const path = await card(say('ok wiped\n'));
  await expect(exchangeControlLine(path, 'wipe')).resolves.toBe('ok wiped');
  expect(received).toEqual(['wipe']);
  await expect(simControl(dir, 0, 'wipe')).resolves.toBe('ok wiped');
});

test('an answer split over many writes is put together', async () => {
  const path = await card((socket) => {
    socket.write('ok ');
    setTimeout(() => socket.write('insta'), 5);
    setTimeout(() => socket.end('lled a.B\n'), 10);
  });
  await expect(exchangeControlLine(path, 'applet a.B')).resolves.toBe('ok installed a.B');
});

test.each([
  ['nothing at all', '', /closed the connection without answering 'status'/],
  ['a line cut short', 'inserted apdus=1', /ended without a newline \(cut short\?\): "inserted apdus=1"/],
  ['two lines', 'ok pulled\nok pulled\n', /is 2 lines, not one/],
  ['an empty line', '\n', /empty or holds control characters/],
  ['a NUL byte', 'ok \u0000\n', /empty or holds control characters/],
  ['an escape sequence', 'ok \u001b[2J\n', /empty or holds control characters/],
  ['a carriage return', 'ok pulled\r\n', /empty or holds control characters/],
])('the answer is %s: SimControlError', async (_what, answer, message) => {
  const path = await card(say(answer));
  const error = await exchangeControlLine(path, 'status').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SimControlError);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).toContain(path);
});

test('bytes that are not UTF-8: SimControlError, not replacement characters', async () => {
  const path = await card(say(Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe, 0x0a])));
  await expect(exchangeControlLine(path, 'status')).rejects.toThrow(/is not UTF-8 text/);
});

test('an endless answer: cut off past MAX_ANSWER_BYTES, not buffered for ever', async () => {
  const path = await card((socket) => {
    const block = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (!socket.destroyed && socket.write(block));
      if (!socket.destroyed) socket.once('drain', pump);
    };
    pump();
  });
  await expect(exchangeControlLine(path, 'resources')).rejects.toThrow(`longer than ${MAX_ANSWER_BYTES} bytes`);
});

test('a card that never answers: a timeout, not a hang', async () => {
  const path = await card(() => undefined);
  const started = Date.now();
  await expect(exchangeControlLine(path, 'status', 200)).rejects.toThrow(`no answer to 'status' within 200 ms`);
  expect(Date.now() - started).toBeLessThan(2000);
});

test('a card that answers but keeps the connection open: a timeout (one line, then close, is the protocol)', async () => {
  const path = await card((socket) => socket.write('ok pulled\n'));
  await expect(exchangeControlLine(path, 'pull', 200)).rejects.toThrow(/no answer to 'pull' within 200 ms/);
});

test('no socket: SimControlError naming the path', async () => {
  const path = join(dir, 'card-9.sock');
  await expect(exchangeControlLine(path, 'status')).rejects.toThrow(`control socket ${path}: connect ENOENT`);
});

test('a command that is not one printable line is refused before anything is sent', async () => {
  const path = await card(say('ok\n'));
  expect(() => exchangeControlLine(path, 'pull\nwipe')).toThrow(RangeError);
  expect(() => exchangeControlLine(path, '')).toThrow(RangeError);
  expect(received).toEqual([]);
});

test("simControl: the card's refusal is an error quoting its reason; an answer neither ok nor error is garbage", async () => {
  await card(say('error: applet class not found on the class path: a.B\n'));
  await expect(simControl(dir, 0, 'applet a.B')).rejects.toThrow(
    "virtual card 0: 'applet a.B' refused: applet class not found on the class path: a.B",
  );
  await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
  await card(say('okay then\n'));
  await expect(simControl(dir, 0, 'wipe')).rejects.toThrow(/virtual card 0: 'wipe': unintelligible answer "okay then"/);
});

describe('parseCommandAnswer', () => {
  test.each([
    ['ok', { ok: true, detail: '' }],
    ['ok wiped', { ok: true, detail: 'wiped' }],
    ['error: card is not inserted', { ok: false, reason: 'card is not inserted' }],
  ])('%j', (answer, parsed) => expect(parseCommandAnswer(answer)).toEqual(parsed));
  test.each(['OK wiped', 'okwiped', 'error card', 'inserted apdus=1', ' ok'])('%j is garbage', (answer) => {
    expect(() => parseCommandAnswer(answer)).toThrow(SimControlError);
  });
});

describe('parseCardStatus', () => {
  test('every field', () => {
    expect(parseCardStatus(`inserted apdus=12 port=35964 pull-after-next root=${ROOT}`)).toEqual({
      presence: 'inserted',
      apdus: 12,
      port: 35964,
      pullAfterNext: true,
      root: ROOT,
    });
  });
  test('a card process older than port and root', () => {
    expect(parseCardStatus('pulled apdus=0')).toEqual({ presence: 'pulled', apdus: 0, port: null, pullAfterNext: false, root: null });
  });
  test.each([
    ['present apdus=1', /expected inserted, inserting or pulled first/],
    ['inserted', /apdus must be a count/],
    ['inserted apdus=-1', /apdus must be a count/],
    ['inserted apdus=1e3', /apdus must be a count/],
    ['inserted apdus=01', /apdus must be a count/],
    ['inserted apdus=1 port=0', /port must be a TCP port/],
    ['inserted apdus=1 port=65536', /port must be a TCP port/],
    ['inserted apdus=1 port=35963 port=35964', /port twice/],
    ['inserted apdus=1 root=04AB', /root must be 65 bytes/],
    [`inserted apdus=1 root=${ROOT.toLowerCase()}`, /root must be 65 bytes/],
    ['inserted apdus=1 colour=blue', /unknown field "colour=blue"/],
    ['inserted  apdus=1', /unknown field ""/],
  ])('%j: SimControlError', (answer, message) => {
    expect(() => parseCardStatus(answer)).toThrow(SimControlError);
    expect(() => parseCardStatus(answer)).toThrow(message);
  });
  test('simCardStatus over the socket names the card', async () => {
    await card(say('inserted apdus=x\n'));
    await expect(simCardStatus(dir, 0)).rejects.toThrow(/^virtual card 0: status answer "inserted apdus=x": apdus must be a count$/);
  });
});
