import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { PinInputError, readPin, type PinTerminal } from '../../../src/cli/pin.js';

const dir = mkdtempSync(join(tmpdir(), 'twincard-pin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pinFile(name: string, content: string | Buffer, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

/** A terminal whose keys are scripted: each string is one chunk as a raw-mode TTY delivers it. */
function scriptedTerminal(chunks: readonly (string | Buffer)[]) {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(mode: boolean): void; rawModes: boolean[] };
  input.isTTY = true;
  input.rawModes = [];
  input.setRawMode = (mode: boolean) => {
    input.rawModes.push(mode);
    // Deliver the next chunk only once the reader has put the terminal in raw mode, as a person types after the prompt.
    if (mode) {
      const chunk = chunks[input.rawModes.filter(Boolean).length - 1];
      if (chunk !== undefined) setImmediate(() => input.write(chunk));
    }
  };
  const written: string[] = [];
  const output = new PassThrough();
  output.on('data', (d: Buffer) => written.push(d.toString()));
  const terminal: PinTerminal = { input, output };
  return { terminal, input, written };
}

const text = (pin: Uint8Array) => Buffer.from(pin).toString('utf8');

describe('readPin sources', () => {
  test('TWINCARD_PIN as UTF-8 bytes', async () => {
    expect(text(await readPin({ env: { TWINCARD_PIN: '123456' } }))).toBe('123456');
    expect(await readPin({ env: { TWINCARD_PIN: 'pässwörd' } })).toHaveLength(10);
  });

  test('--pin-file: first line, LF or CRLF, and it beats the environment', async () => {
    expect(text(await readPin({ pinFile: pinFile('lf', '4321\nignored\n'), env: { TWINCARD_PIN: '999999' } }))).toBe('4321');
    expect(text(await readPin({ pinFile: pinFile('crlf', '87654321\r\n') }))).toBe('87654321');
    expect(text(await readPin({ pinFile: pinFile('nonl', 'abcd') }))).toBe('abcd');
  });

  test.each([
    ['640', 'mode 640 lets group or others read or write it; chmod 600'],
    ['604', 'mode 604 lets group or others'],
    ['620', 'mode 620 lets group or others'],
  ])('--pin-file with mode %s is refused', async (mode, message) => {
    const path = pinFile(`m${mode}`, '123456\n', Number.parseInt(mode, 8));
    await expect(readPin({ pinFile: path })).rejects.toThrow(message);
  });

  test('--pin-file: missing file, directory and oversize file are named errors', async () => {
    await expect(readPin({ pinFile: join(dir, 'absent') })).rejects.toThrow(/--pin-file .*absent: ENOENT/);
    await expect(readPin({ pinFile: dir })).rejects.toThrow(/not a regular file or pipe/);
    await expect(readPin({ pinFile: pinFile('big', 'x'.repeat(5000)) })).rejects.toThrow(/longer than 4096 bytes/);
  });

  test.each([
    ['123', 3],
    ['12345678901234567', 17],
  ])('a code of %j (%i bytes) is refused with the rule, never echoing it', async (pin, length) => {
    const error = await readPin({ env: { TWINCARD_PIN: pin } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PinInputError);
    expect((error as PinInputError).problem).toBe('length');
    expect((error as Error).message).toBe(`TWINCARD_PIN: an access code is 4..16 bytes, got ${length}`);
  });

  test('16 and 4 bytes are the bounds', async () => {
    expect(await readPin({ env: { TWINCARD_PIN: 'x'.repeat(16) } })).toHaveLength(16);
    expect(await readPin({ env: { TWINCARD_PIN: 'wxyz' } })).toHaveLength(4);
  });

  test('no source and no TTY: says how to give one', async () => {
    const input = new PassThrough();
    await expect(readPin({ env: {}, terminal: { input, output: new PassThrough() } })).rejects.toThrow(
      'no access code: set TWINCARD_PIN, pass --pin-file PATH, or run in a terminal to be asked',
    );
  });
});

describe('readPin on a terminal', () => {
  test('raw mode on then off, prompt on the output, nothing echoed, backspace edits', async () => {
    const { terminal, input, written } = scriptedTerminal(['12x\u007f34\r']);
    const pin = await readPin({ env: {}, terminal });
    expect(text(pin)).toBe('1234');
    expect(input.rawModes).toEqual([true, false]);
    expect(written.join('')).toBe('Access code: \n');
  });

  test('confirm asks twice and returns the code when both agree', async () => {
    const { terminal, written } = scriptedTerminal(['246810\r', '246810\n']);
    expect(text(await readPin({ env: {}, terminal, confirm: true, prompt: 'New access code' }))).toBe('246810');
    expect(written.join('')).toBe('New access code: \nNew access code again: \n');
  });

  test('confirm with two different codes is a mismatch', async () => {
    const { terminal } = scriptedTerminal(['246810\r', '246811\r']);
    await expect(readPin({ env: {}, terminal, confirm: true })).rejects.toMatchObject({ problem: 'mismatch' });
  });

  test('Ctrl-C cancels and restores the terminal', async () => {
    const { terminal, input } = scriptedTerminal(['12\u0003']);
    await expect(readPin({ env: {}, terminal })).rejects.toMatchObject({ problem: 'cancelled' });
    expect(input.rawModes).toEqual([true, false]);
  });

  test('an escape sequence (arrow key) adds nothing; multibyte backspace removes one character', async () => {
    const { terminal } = scriptedTerminal([Buffer.concat([Buffer.from('12ä'), Buffer.from([0x7f]), Buffer.from('34\u001b[A')])]);
    // Enter comes as a chunk of its own, as when a person presses it after the arrow key.
    const pending = readPin({ env: {}, terminal });
    setTimeout(() => terminal.input.emit('data', Buffer.from('\r')), 20);
    expect(text(await pending)).toBe('1234');
  });

  test('a code typed too short is refused after Enter', async () => {
    const { terminal } = scriptedTerminal(['12\r']);
    await expect(readPin({ env: {}, terminal })).rejects.toThrow('the access code typed: an access code is 4..16 bytes, got 2');
  });
});
