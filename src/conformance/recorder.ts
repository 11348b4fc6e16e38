/**
 * A transport wrapper that keeps the exchanges of the check running now, for its report: each command in
 * hex with secret data redacted (the access code, wallet blobs), the status word and the response length.
 * Response data is never kept: EXPORT_WALLET's answer is a wallet blob.
 * @module
 */
import { decodeCommand, toHex, type ApduTransport } from '../apdu/index.js';
import { createTraceRedactor } from '../protocol/constants.js';
import type { Exchange } from './types.js';

export class RecordingTransport implements ApduTransport {
  readonly #inner: ApduTransport;
  readonly #redact = createTraceRedactor();
  #log: Exchange[] = [];

  constructor(inner: ApduTransport) {
    this.#inner = inner;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const response = await this.#inner.transmit(apdu);
    this.#log.push(describeExchange(apdu, response, this.#redact));
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

function describeExchange(apdu: Uint8Array, response: Uint8Array, redact: ReturnType<typeof createTraceRedactor>): Exchange {
  const sw = response.length >= 2 ? toHex(response.subarray(response.length - 2)) : `?${toHex(response)}`;
  const responseBytes = Math.max(0, response.length - 2);
  let command: string;
  try {
    const d = decodeCommand(apdu);
    const secret = redact({ cla: d.cla, ins: d.ins, p1: d.p1, p2: d.p2 })?.command === true;
    // Keep the header and Lc as sent; only the data goes.
    command = secret && d.data.length > 0
      ? `${toHex(apdu.subarray(0, 5))} [redacted ${d.data.length} bytes]`
      : toHex(apdu);
  } catch {
    // A deliberately malformed APDU (wrong Lc): nothing to parse, so nothing is shown past the header.
    command = apdu.length <= 5 ? toHex(apdu) : `${toHex(apdu.subarray(0, 5))} [${apdu.length - 5} bytes]`;
  }
  return { command, sw, responseBytes };
}
