/** Test helper: the library's strict ReplayTransport, loading transcripts from ./transcripts/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ReplayTransport } from '../../../src/readers/transcript.js';

export class TranscriptTransport extends ReplayTransport {
  static fromFile(name: string): TranscriptTransport {
    const path = fileURLToPath(new URL(`./transcripts/${name}`, import.meta.url));
    return new TranscriptTransport(readFileSync(path, 'utf8'));
  }
}
