/**
 * Reading the access code (PIN, docs/protocol.md section 5) for a command, from exactly one source:
 *
 * 1. `--pin-file PATH`: the file's first line (without its `\n` / `\r\n`). The file must be a regular file or
 *    a pipe (`--pin-file <(pass show card)`), at most 4 KiB, and grant NO permission to group or others
 *    (`chmod 600`), the rule ssh applies to private keys: a PIN file others can read is a leaked PIN, and one
 *    others can write lets them choose the code a new wallet gets.
 * 2. `TWINCARD_PIN`: for benches and scripts. Its value stays in the process environment, which this module
 *    cannot wipe; prefer a file or the terminal on a shared machine.
 * 3. The terminal: when stdin is a TTY, a prompt on stderr and the keys read in raw mode with no echo
 *    (Backspace edits, Ctrl-C / Ctrl-D cancel, Enter ends). `confirm` asks twice (for a NEW code).
 *
 * A flag beats the environment, which beats the terminal. Anything else (no source, stdin not a TTY) is a
 * {@link PinInputError}, and so is a code outside 4..16 bytes. The PIN is the UTF-8 bytes as typed.
 *
 * The caller owns the returned buffer and must zeroise it (`pin.fill(0)`) as soon as the card has it.
 * @module
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';

/** Bounds of the access code, in bytes (section 5). */
const PIN_MIN_BYTES = 4;
const PIN_MAX_BYTES = 16;

/** Most bytes read from a PIN file: a PIN file is one short line, not a place to stream a disk from. */
const PIN_FILE_MAX_BYTES = 4096;

/** Why no usable access code came out. */
export type PinInputProblem = 'missing' | 'length' | 'file' | 'mismatch' | 'cancelled';

/** The access code could not be read, or is not 4..16 bytes. Exit code 2, like a usage error (errors.ts). */
export class PinInputError extends Error {
  override readonly name = 'PinInputError';
  readonly problem: PinInputProblem;

  constructor(problem: PinInputProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** The terminal as readPin uses it: stdin in raw mode, stderr for the prompt. Replaceable for tests. */
export interface PinTerminal {
  readonly input: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly output: NodeJS.WritableStream;
}

export interface ReadPinOptions {
  /** `--pin-file`, if given. */
  readonly pinFile?: string | undefined;
  /** Ask twice on the terminal and require the same code (setting a new code). */
  readonly confirm?: boolean;
  /** The prompt, default "Access code". */
  readonly prompt?: string;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default process.stdin / process.stderr. */
  readonly terminal?: PinTerminal;
}

/**
 * The access code from `--pin-file`, `TWINCARD_PIN` or the terminal (see the module comment).
 * @returns a fresh buffer of 4..16 bytes; the caller zeroises it.
 * @throws PinInputError
 * @example
 * const pin = await readPin({ pinFile: argv.pinFile });
 * try { await card.verifyPin(pin); } finally { pin.fill(0); }
 */
export async function readPin(options: ReadPinOptions = {}): Promise<Uint8Array> {
  const env = options.env ?? process.env;
  if (options.pinFile !== undefined) return checkPin(await readPinFile(options.pinFile), `--pin-file ${options.pinFile}`);
  const fromEnv = env['TWINCARD_PIN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    // Buffer.from may hand out a slice of Node's shared pool: copy out, then wipe that slice.
    const encoded = Buffer.from(fromEnv, 'utf8');
    const pin = new Uint8Array(encoded);
    encoded.fill(0);
    return checkPin(pin, 'TWINCARD_PIN');
  }
  const terminal = options.terminal ?? { input: process.stdin, output: process.stderr };
  if (terminal.input.isTTY !== true || typeof terminal.input.setRawMode !== 'function') {
    throw new PinInputError('missing', 'no access code: set TWINCARD_PIN, pass --pin-file PATH, or run in a terminal to be asked');
  }
  const prompt = options.prompt ?? 'Access code';
  const first = checkPin(await readFromTerminal(terminal, `${prompt}: `), 'the access code typed');
  if (options.confirm !== true) return first;
  let second: Uint8Array | undefined;
  try {
    second = await readFromTerminal(terminal, `${prompt} again: `);
    if (second.length !== first.length || !timingSafeEqual(second, first)) {
      throw new PinInputError('mismatch', 'the two access codes differ; nothing was changed');
    }
    return first;
  } catch (error) {
    first.fill(0);
    throw error;
  } finally {
    second?.fill(0);
  }
}

/**
 * `pin` if it is 4..16 bytes; otherwise zeroises it and throws.
 * @param source names where it came from, for the message (never the code itself)
 * @throws PinInputError problem 'length'
 */
function checkPin(pin: Uint8Array, source: string): Uint8Array {
  if (pin.length < PIN_MIN_BYTES || pin.length > PIN_MAX_BYTES) {
    const length = pin.length;
    pin.fill(0);
    throw new PinInputError('length', `${source}: an access code is ${PIN_MIN_BYTES}..${PIN_MAX_BYTES} bytes, got ${length}`);
  }
  return pin;
}

async function readPinFile(path: string): Promise<Uint8Array> {
  let handle;
  try {
    // O_NONBLOCK would break reading a pipe; O_NOFOLLOW is not used on purpose: a symlink to a private
    // file is fine, the mode of the target is what is checked.
    handle = await open(path, fsConstants.O_RDONLY);
  } catch (error) {
    throw new PinInputError(
      'file',
      `--pin-file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'cannot open'}: ${(error as Error).message}`,
    );
  }
  const buffer = Buffer.alloc(PIN_FILE_MAX_BYTES + 1);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() && !stat.isFIFO()) throw new PinInputError('file', `--pin-file ${path}: not a regular file or pipe`);
    if ((stat.mode & 0o077) !== 0) {
      throw new PinInputError(
        'file',
        `--pin-file ${path}: mode ${(stat.mode & 0o777).toString(8)} lets group or others read or write it; chmod 600 ${path}`,
      );
    }
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > PIN_FILE_MAX_BYTES) throw new PinInputError('file', `--pin-file ${path}: longer than ${PIN_FILE_MAX_BYTES} bytes`);
      if (buffer.subarray(0, filled).includes(0x0a)) break;
    }
    const newline = buffer.subarray(0, filled).indexOf(0x0a);
    let end = newline === -1 ? filled : newline;
    if (end > 0 && buffer[end - 1] === 0x0d) end -= 1;
    return new Uint8Array(buffer.subarray(0, end)); // a copy; the read buffer is wiped below
  } finally {
    buffer.fill(0);
    await handle.close();
  }
}

const KEY_CTRL_C = 0x03;
const KEY_CTRL_D = 0x04;
const KEY_BACKSPACE = 0x08;
const KEY_DELETE = 0x7f;
const KEY_CTRL_U = 0x15;
const KEY_ESCAPE = 0x1b;

/**
 * One line typed on the terminal, without echo: raw mode so the terminal never shows a key, restored in
 * every outcome. Bytes gather in a fixed buffer that is wiped, so the code is not left in a growing string.
 */
function readFromTerminal(terminal: PinTerminal, prompt: string): Promise<Uint8Array> {
  const { input, output } = terminal;
  const typed = Buffer.alloc(PIN_MAX_BYTES * 4 + 1);
  let length = 0;
  // Raw mode BEFORE the prompt: a person (or a paste) answering the moment the prompt shows would otherwise
  // meet a terminal still in cooked mode, which echoes the code (caught by the pty test in cli-card.test.ts).
  input.setRawMode?.(true);
  output.write(prompt);
  return new Promise<Uint8Array>((resolve, reject) => {
    const finish = (error: Error | undefined) => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      output.write('\n');
      if (error !== undefined) {
        typed.fill(0);
        reject(error);
      } else {
        const pin = new Uint8Array(typed.subarray(0, length));
        typed.fill(0);
        resolve(pin);
      }
    };
    const onEnd = () => finish(new PinInputError('cancelled', 'access code entry cancelled (end of input)'));
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      try {
        for (const byte of bytes) {
          if (byte === 0x0d || byte === 0x0a) return finish(undefined);
          if (byte === KEY_CTRL_C) return finish(new PinInputError('cancelled', 'access code entry cancelled'));
          if (byte === KEY_CTRL_D && length === 0) return finish(new PinInputError('cancelled', 'access code entry cancelled'));
          if (byte === KEY_DELETE || byte === KEY_BACKSPACE) {
            // Remove one character: a UTF-8 lead byte and its continuation bytes (10xxxxxx).
            while (length > 0 && ((typed[length - 1] as number) & 0xc0) === 0x80) typed[--length] = 0;
            if (length > 0) typed[--length] = 0;
            continue;
          }
          if (byte === KEY_CTRL_U) {
            typed.fill(0, 0, length);
            length = 0;
            continue;
          }
          // An escape sequence (arrow keys, Home...) arrives as one chunk: drop the rest of it.
          if (byte === KEY_ESCAPE) return;
          if (byte < 0x20) continue; // other control keys
          if (length >= typed.length) {
            return finish(new PinInputError('length', `the access code typed is longer than ${PIN_MAX_BYTES} bytes`));
          }
          typed[length++] = byte;
        }
      } finally {
        if (typeof chunk !== 'string') chunk.fill(0);
      }
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
