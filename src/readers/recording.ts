/**
 * A transcript of several card presentations in one file (`twincard backup --record`, `conformance
 * --record`, a command that talks to one card): the `=> hex` / `<= hex` lines {@link ReplayTransport}
 * replays, tagged by comment lines, so the file stays a valid transcript for a reader that knows nothing of
 * them:
 *
 *   # connect 1: Virtual PCD 00 00 (ATR 3B8A...)   a presentation starts: the lines below went to card 1
 *   => 00A40400...
 *   <= 9000
 *   # card 2                                        two cards at once (conformance's peer): now card 2
 *   => ...
 *   # step-done prepare-backup-1                    a note: what the host made of it
 *   # disconnect 1
 *
 * Every exchange belongs to the presentation named by the last `# connect N:` or `# card N` line above it.
 * Each presentation has its own redactor: a GET RESPONSE inherits the redaction of the command it continues
 * ON THE SAME CARD, never of one sent to another card in between. A file without `# connect` lines (one card,
 * the format before this one) is one presentation.
 * @module
 */
import { toHex, type ApduTransport, type ExchangeRedactor } from '../apdu/index.js';
import { RecordingTransport } from './transcript.js';

/** A comment holds one line: control characters (a reader name, an error text) become '?'. */
// eslint-disable-next-line no-control-regex -- matching control characters is this function's job
export const oneLine = (text: string): string => text.replace(/[\u0000-\u001f\u007f]/g, '?');

/** Where a presentation's exchanges went. */
export interface PresentationSource {
  readonly reader: string;
  readonly atr?: Uint8Array | undefined;
}

/** The transport of one presentation: records into the file, until {@link detach}. */
export interface RecordedCardTransport extends ApduTransport {
  /** Its number in the file (`# connect N`). */
  readonly index: number;
  /** Ends the presentation (`# disconnect N`); later exchanges still go to the card, unrecorded. */
  detach(): void;
}

/**
 * Collects presentations in order, one file's worth. Not a transport itself: {@link attach} wraps each card.
 * @example
 * const recording = new SessionRecording(createExchangeRedactor);
 * const transport = recording.attach(card, { reader: card.reader, atr: card.atr });
 * // ... exchanges ...
 * transport.detach();
 * await writeFileAtomic(path, recording.text());
 */
export class SessionRecording {
  readonly #redactor: () => ExchangeRedactor;
  readonly #lines: string[] = [];
  readonly #open = new Set<RecordedCardTransport>();
  /** The presentation the last tagged line named. */
  #current: number | undefined;
  #count = 0;

  /** @param redactor a factory: one fresh redactor per presentation (they are stateful). */
  constructor(redactor: () => ExchangeRedactor) {
    this.#redactor = redactor;
  }

  /** Presentations so far. */
  get presentations(): number {
    return this.#count;
  }

  /** Starts a presentation and returns the transport that records into it (other open ones stay open). */
  attach(inner: ApduTransport, source: PresentationSource): RecordedCardTransport {
    const index = ++this.#count;
    const atr = source.atr === undefined ? '' : ` (ATR ${toHex(source.atr)})`;
    this.#lines.push(`# connect ${index}: ${oneLine(source.reader)}${atr}`);
    this.#current = index;
    let open = true;
    const recording = new RecordingTransport(inner, this.#redactor(), (lines) => {
      if (!open) return;
      if (this.#current !== index) this.#lines.push(`# card ${index}`);
      this.#current = index;
      this.#lines.push(...lines);
    });
    const transport: RecordedCardTransport = {
      index,
      transmit: (apdu) => recording.transmit(apdu),
      detach: () => {
        if (!open) return;
        open = false;
        this.#open.delete(transport);
        this.#lines.push(`# disconnect ${index}`);
        if (this.#current === index) this.#current = undefined;
      },
    };
    this.#open.add(transport);
    return transport;
  }

  /** Ends every open presentation (a one-card-at-a-time source, before it connects the next). */
  detachAll(): void {
    for (const transport of [...this.#open]) transport.detach();
  }

  /** A `# ` comment line at this point of the transcript: a replay ignores it. */
  note(text: string): void {
    this.#lines.push(`# ${oneLine(text)}`);
  }

  /** The transcript so far (presentations still open are written without their `# disconnect`). */
  text(): string {
    return this.#lines.length === 0 ? '' : `${this.#lines.join('\n')}\n`;
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
const SWITCH = /^# card (\d+)$/;
const DISCONNECT = /^# disconnect (\d+)$/;

/**
 * Splits a recorded file into its presentations, in the order of their `# connect` lines. Lines outside every
 * presentation (the header, notes after a disconnect) belong to none; a file with no `# connect` line is one
 * presentation holding everything.
 * @throws Error naming the line: an exchange outside every presentation, a `# card N` of no open presentation
 */
export function splitPresentations(text: string): RecordedPresentation[] {
  const lines = text.split('\n');
  if (!lines.some((line) => CONNECT.test(line.trim()))) return [{ index: 1, reader: '', transcript: text }];
  const owner: Array<number | undefined> = [];
  const found = new Map<number, string>();
  const open = new Set<number>();
  let current: number | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    const connect = CONNECT.exec(line);
    const switched = SWITCH.exec(line);
    const disconnect = DISCONNECT.exec(line);
    if (connect !== null) {
      current = Number(connect[1]);
      if (found.has(current)) throw new Error(`transcript line ${i + 1}: card ${current} connected twice`);
      found.set(current, connect[2]!);
      open.add(current);
    } else if (switched !== null || disconnect !== null) {
      const index = Number((switched ?? disconnect)![1]);
      if (!open.has(index)) throw new Error(`transcript line ${i + 1}: card ${index} is not connected here`);
      if (disconnect !== null) open.delete(index);
      current = disconnect !== null ? undefined : index;
      owner.push(index);
      return;
    } else if (current === undefined && /^(=>|<=)/.test(line)) {
      throw new Error(`transcript line ${i + 1}: an exchange outside every '# connect' presentation`);
    }
    owner.push(current);
  });
  return [...found].map(([index, reader]) => ({
    index,
    reader,
    // Blank lines keep the line numbers of the file, so a replay failure names the line a person sees.
    transcript: lines.map((line, i) => (owner[i] === index ? line : '')).join('\n'),
  }));
}
