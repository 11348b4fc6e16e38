/**
 * The client of a virtual card's control socket (fixtures `VirtualCard`, see fixtures/README.md: one line in,
 * one line out, then the card closes the connection). Everything a card process says is parsed as hostile input:
 * an answer must be exactly one UTF-8 line of printable text within {@link MAX_ANSWER_BYTES}, and each query's
 * answer has a fixed shape; anything else is a {@link SimControlError} naming what was wrong, never a hang.
 * @module
 */
import { createConnection } from 'node:net';
import { join } from 'node:path';

export class SimControlError extends Error {
  override readonly name = 'SimControlError';
}

/** The longest answer accepted: `resources` (one JSON line) is a few KiB; a card never says more than this. */
export const MAX_ANSWER_BYTES = 1 << 20;

/** How long a card gets to answer: `wipe` and `applet` reinstall applets (key generation), the slowest commands. */
const CONTROL_TIMEOUT_MS = 10_000;

/** Card k's control socket in a run folder (what `scripts/sim.sh up` passes to its JVM). */
export function controlSocketPath(runDir: string, index: number): string {
  return join(runDir, `card-${index}.sock`);
}

/**
 * Sends `line` to the control socket at `socketPath` and returns the answer line (without its newline).
 * @throws SimControlError when the socket cannot be reached, no answer comes within `timeoutMs`, or the answer
 *   is not exactly one line of printable UTF-8 text of at most {@link MAX_ANSWER_BYTES} bytes.
 * @throws RangeError when `line` is empty or not one line of printable text (it would be a second command).
 * @example await exchangeControlLine('.run/card-0.sock', 'status') // 'inserted apdus=12 port=35963 root=04...'
 */
export function exchangeControlLine(socketPath: string, line: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string> {
  if (line === '' || !PRINTABLE_LINE.test(line)) {
    throw new RangeError(`control command: expected one line of printable text, got ${JSON.stringify(line)}`);
  }
  const where = `control socket ${socketPath}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const socket = createConnection({ path: socketPath });
    const finish = (error: SimControlError | undefined, answer?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(answer ?? '');
    };
    const timer = setTimeout(() => finish(new SimControlError(`${where}: no answer to '${line}' within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_ANSWER_BYTES) {
        return finish(new SimControlError(`${where}: answer to '${line}' longer than ${MAX_ANSWER_BYTES} bytes`));
      }
      chunks.push(chunk);
    });
    socket.on('end', () => {
      try {
        finish(undefined, answerLine(Buffer.concat(chunks), line));
      } catch (error) {
        finish(new SimControlError(`${where}: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
    socket.on('error', (error) => finish(new SimControlError(`${where}: ${error.message}`)));
  });
}

/** Printable text without line breaks or other control characters (tab allowed). */
// eslint-disable-next-line no-control-regex -- refusing control characters is this pattern's job
const PRINTABLE_LINE = /^[^\x00-\x08\x0a-\x1f\x7f]+$/u;

/** The one line in `bytes`: UTF-8, ending in exactly one newline, printable. */
function answerLine(bytes: Buffer, sent: string): string {
  if (bytes.length === 0) throw new SimControlError(`closed the connection without answering '${sent}'`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SimControlError(`answer to '${sent}' is not UTF-8 text`);
  }
  if (!text.endsWith('\n')) throw new SimControlError(`answer to '${sent}' ended without a newline (cut short?): ${excerpt(text)}`);
  const body = text.slice(0, -1);
  if (body.includes('\n')) throw new SimControlError(`answer to '${sent}' is ${body.split('\n').length} lines, not one: ${excerpt(body)}`);
  if (!PRINTABLE_LINE.test(body)) throw new SimControlError(`answer to '${sent}' is empty or holds control characters: ${excerpt(body)}`);
  return body;
}

/** A bounded, escaped piece of a bad answer for an error message. */
function excerpt(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/** A command's answer: `ok DETAIL` (DETAIL may be empty) or `error: REASON`. */
export type CommandAnswer = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly reason: string };

/** Parses the answer to any command but `status` and `resources`. @throws SimControlError for anything else. */
export function parseCommandAnswer(answer: string): CommandAnswer {
  if (answer === 'ok') return { ok: true, detail: '' };
  if (answer.startsWith('ok ')) return { ok: true, detail: answer.slice(3) };
  if (answer.startsWith('error: ')) return { ok: false, reason: answer.slice(7) };
  throw new SimControlError(`unintelligible answer ${excerpt(answer)} (expected 'ok ...' or 'error: ...')`);
}

/** Where a card is, by its own account: connected to vpcd, connecting, or in no reader. */
export type CardPresence = 'inserted' | 'inserting' | 'pulled';

/** A card's answer to `status`. */
export interface CardControlStatus {
  readonly presence: CardPresence;
  /** APDUs processed since the JVM started. */
  readonly apdus: number;
  /** The vpcd port the card is in or goes into at its next insert; null from a card process older than `move`. */
  readonly port: number | null;
  /** Armed to drop the answer to its next APDU and leave its reader. */
  readonly pullAfterNext: boolean;
  /** The manufacturer root (65 bytes 04 || X || Y, uppercase hex) its applets were installed with; null from an older card. */
  readonly root: string | null;
}

/**
 * Parses `inserted|inserting|pulled apdus=N [port=P] [pull-after-next] [root=HEX]`.
 * @throws SimControlError for any other shape, an unknown field, or a field twice.
 */
export function parseCardStatus(answer: string): CardControlStatus {
  const [presence, ...fields] = answer.split(' ');
  if (presence !== 'inserted' && presence !== 'inserting' && presence !== 'pulled') {
    throw new SimControlError(`status answer ${excerpt(answer)}: expected inserted, inserting or pulled first`);
  }
  const seen = new Map<string, string>();
  for (const field of fields) {
    const match = /^(apdus|port|root)=(.*)$/.exec(field);
    const [key, value] = match === null ? [field, ''] : [match[1] as string, match[2] as string];
    if (key !== 'pull-after-next' && match === null) {
      throw new SimControlError(`status answer ${excerpt(answer)}: unknown field ${excerpt(field)}`);
    }
    if (seen.has(key)) throw new SimControlError(`status answer ${excerpt(answer)}: ${key} twice`);
    seen.set(key, value);
  }
  const apdus = seen.get('apdus');
  if (apdus === undefined || !/^(0|[1-9][0-9]{0,14})$/.test(apdus)) {
    throw new SimControlError(`status answer ${excerpt(answer)}: apdus must be a count`);
  }
  const port = seen.get('port');
  if (port !== undefined && (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535)) {
    throw new SimControlError(`status answer ${excerpt(answer)}: port must be a TCP port 1..65535`);
  }
  const root = seen.get('root');
  if (root !== undefined && !/^04[0-9A-F]{128}$/.test(root)) {
    throw new SimControlError(`status answer ${excerpt(answer)}: root must be 65 bytes of uppercase hex starting 04`);
  }
  return {
    presence,
    apdus: Number(apdus),
    port: port === undefined ? null : Number(port),
    pullAfterNext: seen.has('pull-after-next'),
    root: root ?? null,
  };
}

/**
 * Sends one command to card `index` of `runDir` and returns the whole `ok ...` line.
 * @throws SimControlError when the card cannot be reached, answers garbage, or answers `error: ...` (its reason quoted).
 * @example await simControl(runDir, 3, 'wipe') // 'ok wiped'
 */
export async function simControl(runDir: string, index: number, command: string, timeoutMs = CONTROL_TIMEOUT_MS): Promise<string> {
  const answer = await exchangeControlLine(controlSocketPath(runDir, index), command, timeoutMs);
  const parsed = (() => {
    try {
      return parseCommandAnswer(answer);
    } catch (error) {
      throw new SimControlError(`virtual card ${index}: '${command}': ${(error as Error).message}`);
    }
  })();
  if (!parsed.ok) throw new SimControlError(`virtual card ${index}: '${command}' refused: ${parsed.reason}`);
  return answer;
}

/** Card `index`'s answer to `status`, parsed. @throws SimControlError as {@link simControl} does. */
export async function simCardStatus(runDir: string, index: number, timeoutMs = CONTROL_TIMEOUT_MS): Promise<CardControlStatus> {
  const answer = await exchangeControlLine(controlSocketPath(runDir, index), 'status', timeoutMs);
  try {
    return parseCardStatus(answer);
  } catch (error) {
    throw new SimControlError(`virtual card ${index}: ${(error as Error).message}`);
  }
}
