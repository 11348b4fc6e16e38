/**
 * Where the CLI writes: everything meant for a person goes to stderr, the single `--json` document to stdout,
 * so `twincard ... --json | jq` always parses.
 */
export interface OutputOptions {
  readonly json: boolean;
  /** Colour only on a TTY and when NO_COLOR is unset (https://no-color.org). */
  readonly color: boolean;
}

export class Output {
  private jsonWritten = false;

  constructor(
    readonly options: OutputOptions,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {}

  static fromEnvironment(json: boolean): Output {
    // isTTY is undefined, not false, when stderr is not a terminal, though @types/node types it boolean.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-boolean-literal-compare -- see above
    const color = process.stderr.isTTY === true && (process.env['NO_COLOR'] ?? '') === '';
    return new Output({ json, color });
  }

  /** A line for a person. */
  info(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  /** A line that matters more than the rest (a verdict, a prompt). */
  emphasis(line: string): void {
    this.stderr.write(this.options.color ? `\u001b[1m${line}\u001b[0m\n` : `${line}\n`);
  }

  /** The command's machine-readable result; written once, and only with --json. */
  result(document: unknown): void {
    if (!this.options.json) return;
    if (this.jsonWritten) throw new Error('a command wrote two --json documents');
    this.jsonWritten = true;
    this.stdout.write(`${JSON.stringify(document, jsonReplacer, 2)}\n`);
  }
}

/** Bytes appear as uppercase hex in --json output; bigints as decimal strings. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex').toUpperCase();
  if (typeof value === 'bigint') return value.toString();
  return value;
}
