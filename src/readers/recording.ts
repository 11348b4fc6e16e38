/**
 * A transcript of several card presentations in one file (`twincard backup --record`, `conformance
 * --record`, a command that talks to one card): the `=> hex` / `<= hex` lines {@link ReplayTransport}
 * replays, cut into presentations by comment lines, so the file stays a valid transcript for a reader that
 * knows nothing of them:
 *
 *   # connect 2: Virtual PCD 00 01 (ATR 3B8A...)
 *   => 00A40400...
 *   <= 9000
 *   # step-done prepare-backup-1          (a note: what the host made of it)
 *   # disconnect 2
 *
 * Every exchange belongs to the presentation of the `# connect N` line above it. Each presentation has its
 * own redactor: a GET RESPONSE inherits the redaction of the command it continues ON THE SAME CARD, never of
 * one sent to another card in between. A file without `# connect` lines (a transcript of one card, the
 * format before this one) is one presentation.
 * @module
 */
import { toHex, type ApduTransport, type ExchangeRedactor } from '../apdu/index.js';
import { RecordingTransport } from './transcript.js';

/** A comment holds one line: control characters (a reader name, an error text) become '?'. */
export const oneLine = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, '?');

/** Where a presentation's exchanges went. */
export interface PresentationSource {
  readonly reader: string;
  readonly atr?: Uint8Array | undefined;
}

/**
 * Collects presentations in order. Not a transport itself: {@link attach} wraps each card's transport.
 * @example
 * const recording = new SessionRecording(createExchangeRedactor);
 * const transport = recording.attach(card, { reader: card.reader, atr: card.atr });
 * // ... exchanges ...
 * recording.detach();
 * await writeFileAtomic(path, recording.text());
 */
export class SessionRecording {
  readonly #redactor: () => ExchangeRedactor;
  readonly #parts: Array<string | RecordingTransport> = [];
  #open: { readonly index: number; readonly recording: RecordingTransport } | undefined;
  #count = 0;

  /** @param redactor a factory: one fresh redactor per presentation (they are stateful). */
  constructor(redactor: () => ExchangeRedactor) {
    this.#redactor = redactor;
  }

  /** Presentations so far. */
  get presentations(): number {
    return this.#count;
  }

  /** Starts a presentation (ending the one still open) and returns the transport that records into it. */
  attach(inner: ApduTransport, source: PresentationSource): ApduTransport {
    this.detach();
    const index = ++this.#count;
    const atr = source.atr === undefined ? '' : ` (ATR ${toHex(source.atr)})`;
    this.#parts.push(`# connect ${index}: ${oneLine(source.reader)}${atr}\n`);
    const recording = new RecordingTransport(inner, this.#redactor());
    this.#parts.push(recording);
    this.#open = { index, recording };
    return recording;
  }

  /** Ends the open presentation, if any. */
  detach(): void {
    if (this.#open === undefined) return;
    this.#parts.push(`# disconnect ${this.#open.index}\n`);
    this.#open = undefined;
  }

  /** A `# ` comment line at this point of the transcript (inside the open presentation, if one is). */
  note(text: string): void {
    const line = `# ${oneLine(text)}`;
    if (this.#open !== undefined) this.#open.recording.note(line);
    else this.#parts.push(`${line}\n`);
  }

  /** The transcript so far (a presentation still open is written without its `# disconnect`). */
  text(): string {
    return this.#parts.map((part) => (typeof part === 'string' ? part : part.transcript())).join('');
  }
}

/** One presentation of a recorded file, ready for `new ReplayTransport(p.transcript)`. */
export interface RecordedPresentation {
  /** 1, 2, ... as numbered in the file; 1 for a file without `# connect` lines. */
  readonly index: number;
  /** The reader named on its `# connect` line ('' when the file has none). */
  readonly reader: string;
  /** Its lines only (connect line included), as a transcript of one card. */
  readonly transcript: string;
}

const CONNECT = /^# connect (\d+): (.*?)(?: \(ATR ([0-9A-F]*)\))?$/;

/**
 * Splits a recorded file into its presentations. Lines before the first `# connect` (the header) belong to
 * none; a file with no `# connect` line is one presentation holding everything.
 * @throws Error naming the line, when an exchange line comes before the first `# connect` of a file that has some
 */
export function splitPresentations(text: string): RecordedPresentation[] {
  const lines = text.split('\n');
  const starts = lines.flatMap((line, i) => (CONNECT.test(line.trim()) ? [i] : []));
  if (starts.length === 0) return [{ index: 1, reader: '', transcript: text }];
  const stray = lines.slice(0, starts[0]).findIndex((line) => /^(=>|<=)/.test(line.trim()));
  if (stray >= 0) throw new Error(`transcript line ${stray + 1}: an exchange before the first '# connect' line`);
  return starts.map((start, k) => {
    const match = CONNECT.exec(lines[start]!.trim())!;
    const end = starts[k + 1] ?? lines.length;
    // Blank lines keep the line numbers of the file, so a replay failure names the line a person sees.
    const transcript = lines.map((line, i) => (i >= start && i < end ? line : '')).join('\n');
    return { index: Number(match[1]), reader: match[2]!, transcript };
  });
}
