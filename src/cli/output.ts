/**
 * Where the CLI writes, as ykman and gp do: the result on stdout, so `twincard info | grep state` works;
 * prompts, progress, warnings, traces and errors on stderr, so they never mix into a pipe. With `--json` the
 * single JSON document is the result: stdout holds only it (`twincard ... --json | jq` always parses), and
 * the human form of the result moves to stderr with everything else.
 */
export interface OutputOptions {
  readonly json: boolean;
  /** Colour on stderr: only on a TTY and when NO_COLOR is unset (https://no-color.org). */
  readonly color: boolean;
  /** Colour on stdout, by the same rule (a pipe gets plain text). */
  readonly resultColor?: boolean;
}

export class Output {
  private jsonWritten = false;

  constructor(
    readonly options: OutputOptions,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {}

  static fromEnvironment(json: boolean): Output {
    const noColor = (process.env['NO_COLOR'] ?? '') !== '';
    return new Output({ json, color: process.stderr.isTTY && !noColor, resultColor: process.stdout.isTTY && !noColor });
  }

  /** A line for a person that is not the result: progress, a warning, a trace line (stderr). */
  info(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  /** A prompt or a warning that matters more than the rest (stderr, bold on a terminal). */
  emphasis(line: string): void {
    this.stderr.write(bold(line, this.options.color));
  }

  /** A line of the result in human form: stdout, or stderr with --json (the document is the result then). */
  print(line: string): void {
    if (this.options.json) this.info(line);
    else this.stdout.write(`${line}\n`);
  }

  /** The headline of the result (a verdict): like print, bold on a terminal. */
  printEmphasis(line: string): void {
    if (this.options.json) this.emphasis(line);
    else this.stdout.write(bold(line, this.options.resultColor === true));
  }

  /** The command's machine-readable result; written once, and only with --json. */
  result(document: unknown): void {
    if (!this.options.json) return;
    if (this.jsonWritten) throw new Error('a command wrote two --json documents');
    this.jsonWritten = true;
    this.stdout.write(`${JSON.stringify(document, jsonReplacer, 2)}\n`);
  }
}

function bold(line: string, color: boolean): string {
  return color ? `\u001b[1m${line}\u001b[0m\n` : `${line}\n`;
}

/** Bytes appear as uppercase hex in --json output; bigints as decimal strings. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex').toUpperCase();
  if (typeof value === 'bigint') return value.toString();
  return value;
}
