/**
 * A transport that replays a fixed transcript of `=> command` / `<= response` hex lines (ledgerjs
 * hw-transport-mocker style) and fails strictly: a command that differs from the next `=>` line, a
 * command after the transcript ended, and (via assertDone) exchanges left over. A failure is also
 * remembered, so code that swallows the transport's error still fails the test.
 */
import { fromHex, toHex, type ApduTransport } from '../apdu/index.js';

export interface Exchange {
  readonly line: number;
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
    if (got !== expected.command) {
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

/** Parses `=> hex` / `<= hex` lines (`#` comments and blank lines ignored); errors name the line. */
export function parseTranscript(text: string): Exchange[] {
  const exchanges: Exchange[] = [];
  let pending: { line: number; command: string } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const hex = content.slice(2);
    if (content.startsWith('=>')) {
      if (pending) throw new Error(`transcript line ${line}: two commands without a response`);
      pending = { line, command: toHex(fromHex(hex)) };
    } else if (content.startsWith('<=')) {
      if (!pending) throw new Error(`transcript line ${line}: response without a command`);
      exchanges.push({ ...pending, response: fromHex(hex) });
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
 * a unit-test fixture for {@link ReplayTransport}. Record only sessions without secrets in them.
 */
export class RecordingTransport implements ApduTransport {
  readonly #lines: string[] = [];

  constructor(private readonly inner: ApduTransport) {}

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const response = await this.inner.transmit(apdu);
    this.#lines.push(`=> ${toHex(apdu)}`, `<= ${toHex(response)}`);
    return response;
  }

  /** The transcript so far, one line per command and per response. */
  transcript(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}
