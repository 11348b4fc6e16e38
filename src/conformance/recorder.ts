/**
 * A transport wrapper that keeps the exchanges of the check running now, for its report: each command in
 * hex with secret data redacted (the access code, wallet blobs: the one policy of src/protocol/redaction.ts),
 * the status word and the response length. Response data is never kept: BACKUP_EXPORT's answer is a
 * wallet blob.
 * @module
 */
import { describeCommand, formatSw, toHex, type ApduTransport, type ExchangeRedactor } from '../apdu/index.js';
import { createExchangeRedactor } from '../protocol/redaction.js';
import type { Exchange } from './types.js';

export class CheckRecorder implements ApduTransport {
  readonly #inner: ApduTransport;
  readonly #redactor: ExchangeRedactor = createExchangeRedactor();
  #log: Exchange[] = [];

  constructor(inner: ApduTransport) {
    this.#inner = inner;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const command = describeCommand(this.#redactor.command(apdu));
    const response = await this.#inner.transmit(apdu);
    const sw =
      response.length >= 2 ? formatSw((response[response.length - 2]! << 8) | response[response.length - 1]!) : `?${toHex(response)}`;
    this.#log.push({ command, sw, responseBytes: Math.max(0, response.length - 2) });
    return response;
  }

  /** The exchanges since the last {@link clear}. */
  get log(): readonly Exchange[] {
    return this.#log;
  }

  clear(): void {
    this.#log = [];
  }
}
