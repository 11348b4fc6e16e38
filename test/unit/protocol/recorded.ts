/**
 * Recorded card sessions with one answer altered: the hostile card of the unit tests. The transcripts are
 * real sessions of the reference applet (recorded through pcscd), so every answer not altered is one a
 * genuine card gave, and the replay stays strict about what the host sends.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';

/** A transcript under test/unit/`folder`/transcripts/. */
export function recordedTranscript(folder: string, name: string): string {
  return readFileSync(fileURLToPath(new URL(`../${folder}/transcripts/${name}`, import.meta.url)), 'utf8');
}

/** A whole answer: its data and its status word. */
export interface Answer {
  readonly data: Uint8Array;
  readonly sw: number;
}

/**
 * `transcript` with the answer of exchange `index` (0 = the first `<=` line) replaced by `change`'s.
 * @throws RangeError when the transcript has no such exchange (a test written against another recording)
 */
export function withAnswer(transcript: string, index: number, change: (answer: Answer) => Answer): string {
  let seen = -1;
  const lines = transcript.split('\n').map((line) => {
    if (!line.startsWith('<= ')) return line;
    seen += 1;
    if (seen !== index) return line;
    const bytes = fromHex(line.slice(3));
    const altered = change({ data: bytes.slice(0, -2), sw: ((bytes.at(-2) as number) << 8) | (bytes.at(-1) as number) });
    return `<= ${toHex(altered.data)}${toHex(Uint8Array.of(altered.sw >> 8, altered.sw & 0xff))}`;
  });
  if (index > seen) throw new RangeError(`withAnswer: exchange ${index} asked, the transcript has ${seen + 1}`);
  return lines.join('\n');
}

/** The answer's data changed by `change`, the status word kept. */
export const data =
  (change: (data: Uint8Array) => Uint8Array) =>
  (answer: Answer): Answer => ({ ...answer, data: change(answer.data.slice()) });

/** No data, another status word: what a card that refuses answers. */
export const refusal = (word: number) => (): Answer => ({ data: new Uint8Array(0), sw: word });

/** One byte of the data XORed with `mask`. */
export const flipAt = (offset: number, mask = 0x01) =>
  data((bytes) => {
    if (offset < 0 || offset >= bytes.length) throw new RangeError(`flipAt: offset ${offset} outside 0..${bytes.length - 1}`);
    bytes[offset] = (bytes[offset] as number) ^ mask;
    return bytes;
  });

/** One byte of the data set to `value`. */
export const setAt = (offset: number, value: number) =>
  data((bytes) => {
    if (offset < 0 || offset >= bytes.length) throw new RangeError(`setAt: offset ${offset} outside 0..${bytes.length - 1}`);
    bytes[offset] = value;
    return bytes;
  });
