/**
 * A transport that replays a fixed transcript of `=> command` / `<= response` hex lines (ledgerjs
 * hw-transport-mocker style) and fails strictly: a command that differs from the next `=>` line, a
 * command after the transcript ended, and (via assertDone) exchanges left over. A failure is also
 * remembered, so code that swallows the transport's error still fails the test.
 *
 * Redacted transcripts (`twincard ... --record FILE`): a byte written `..` was secret and not recorded. In
 * a command it matches any byte (the length still has to match); in a response it replays as 00.
 */
import { ExchangeRedactor, toHex, type ApduTransport } from '../apdu/index.js';

/** The marker of one redacted byte in a transcript line. */
const REDACTED_BYTE = '..';

export interface Exchange {
  readonly line: number;
  /** The command as written (upper-case hex, `..` for a redacted byte, no spaces). */
  readonly command: string;
  readonly response: Uint8Array;
}

export class ReplayTransport implements ApduTransport {
  readonly #exchanges: Exchange[];
  #next = 0;
  #failure: Error | undefined;

  constructor(text: string) {
    this.#exchanges = parseTranscript(text);
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.#failure) throw this.#failure;
    const got = toHex(apdu);
    const expected = this.#exchanges[this.#next];
    if (expected === undefined) {
      return this.#fail(`transcript ended, but the code sent => ${got}`);
    }
    if (!matches(expected.command, got)) {
      return this.#fail(`transcript line ${expected.line}: expected => ${expected.command}, got => ${got}`);
    }
    this.#next++;
    return expected.response.slice();
  }

  /** Exchanges replayed so far. */
  get replayed(): number {
    return this.#next;
  }

  /** Throws the first failure, or when exchanges of the transcript were never sent. */
  assertDone(): void {
    if (this.#failure) throw this.#failure;
    const left = this.#exchanges.length - this.#next;
    const next = this.#exchanges[this.#next];
    if (next !== undefined) {
      throw new Error(`${left} exchange(s) of the transcript never sent, next at line ${next.line}: => ${next.command}`);
    }
  }

  #fail(message: string): never {
    this.#failure = new Error(message);
    throw this.#failure;
  }
}

/** `pattern` and `hex` are both upper-case pair strings; `..` in the pattern matches any pair. */
function matches(pattern: string, hex: string): boolean {
  if (pattern.length !== hex.length) return false;
  for (let i = 0; i < pattern.length; i += 2) {
    if (pattern.startsWith(REDACTED_BYTE, i)) continue;
    if (pattern[i] !== hex[i] || pattern[i + 1] !== hex[i + 1]) return false;
  }
  return true;
}

const PAIR = /^(?:[0-9A-F]{2}|\.\.)$/;

/** Byte pairs of one line (spaces and colons allowed between bytes): hex, or `..` for a redacted byte. */
function parsePairs(text: string, line: number): string[] {
  const pairs: string[] = [];
  for (const group of text.trim().split(/[\s:]+/)) {
    if (group === '') continue;
    if (group.length % 2 !== 0) throw new Error(`transcript line ${line}: odd number of digits in ${JSON.stringify(group)}`);
    for (let i = 0; i < group.length; i += 2) {
      const pair = group.slice(i, i + 2).toUpperCase();
      if (!PAIR.test(pair)) throw new Error(`transcript line ${line}: ${JSON.stringify(pair)} is neither a hex byte nor '..'`);
      pairs.push(pair);
    }
  }
  return pairs;
}

/** Parses `=> hex` / `<= hex` lines (`#` comments and blank lines ignored); errors name the line. */
export function parseTranscript(text: string): Exchange[] {
  const exchanges: Exchange[] = [];
  let pending: { line: number; command: string } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const pairs = parsePairs(content.slice(2), line);
    if (content.startsWith('=>')) {
      if (pending) throw new Error(`transcript line ${line}: two commands without a response`);
      pending = { line, command: pairs.join('') };
    } else if (content.startsWith('<=')) {
      if (!pending) throw new Error(`transcript line ${line}: response without a command`);
      if (pairs.slice(-2).includes(REDACTED_BYTE)) {
        throw new Error(`transcript line ${line}: the status word must be in clear, only data can be redacted`);
      }
      const response = Uint8Array.from(pairs, (pair) => (pair === REDACTED_BYTE ? 0 : Number.parseInt(pair, 16)));
      exchanges.push({ ...pending, response });
      pending = undefined;
    } else {
      throw new Error(`transcript line ${line}: expected '=> hex', '<= hex' or '# comment'`);
    }
  });
  if (pending) throw new Error(`transcript line ${pending.line}: command without a response`);
  return exchanges;
}

/**
 * Wraps a real transport and writes every exchange as transcript text: a session on a real card becomes
 * a unit-test fixture for {@link ReplayTransport}. With a redactor (what `--record` uses), every secret
 * byte is written `..`; without one, everything is kept: only for sessions with no secret in them.
 */
export class RecordingTransport implements ApduTransport {
  readonly #lines: string[] = [];
  readonly #redactor: ExchangeRedactor | undefined;
  readonly #sink: ((lines: readonly string[]) => void) | undefined;

  /**
   * @param sink where the lines of each exchange go, together, once it ended (a file of several cards);
   *   without one they are kept here, for {@link transcript}.
   */
  constructor(
    private readonly inner: ApduTransport,
    redactor?: ExchangeRedactor,
    sink?: (lines: readonly string[]) => void,
  ) {
    this.#redactor = redactor;
    this.#sink = sink;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    // Judged before sending: the redactor's view of the response depends on this command.
    const commandLine = this.#redactor === undefined ? toHex(apdu) : transcriptCommand(this.#redactor, apdu);
    let response: Uint8Array;
    try {
      response = await this.inner.transmit(apdu);
    } catch (error) {
      // Kept for the bug report, as a comment: a replay has no answer to give for it.
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      const reason = (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).replace(/[\u0000-\u001f\u007f]/g, ' ');
      this.#emit([`# => ${commandLine}`, `# no answer: ${reason}`]);
      throw error;
    }
    const responseLine = this.#redactor === undefined ? toHex(response) : transcriptResponse(this.#redactor, response);
    this.#emit([`=> ${commandLine}`, `<= ${responseLine}`]);
    return response;
  }

  #emit(lines: readonly string[]): void {
    if (this.#sink !== undefined) this.#sink(lines);
    else this.#lines.push(...lines);
  }

  /** The transcript so far, one line per command and per response (empty with a sink: the lines went there). */
  transcript(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
  }
}

const redacted = (count: number) => REDACTED_BYTE.repeat(count);

/** Header and Lc in hex, the data in hex or `..` per redacted byte (set apart by spaces), Le in hex. */
function transcriptCommand(redactor: ExchangeRedactor, apdu: Uint8Array): string {
  const view = redactor.command(apdu);
  if (!view.hideData) return toHex(apdu);
  const end = view.dataOffset + view.dataLength;
  const tail = apdu.subarray(end);
  return `${toHex(apdu.subarray(0, view.dataOffset))} ${redacted(view.dataLength)}${tail.length > 0 ? ` ${toHex(tail)}` : ''}`;
}

function transcriptResponse(redactor: ExchangeRedactor, response: Uint8Array): string {
  const view = redactor.response(response);
  if (!view.hideData) return toHex(response);
  return `${redacted(view.dataLength)} ${toHex(response.subarray(view.dataLength))}`;
}
