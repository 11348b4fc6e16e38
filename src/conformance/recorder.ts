/**
 * A transport wrapper that keeps the exchanges of the check running now, for its report: each command in
 * hex with secret data redacted (the access code, wallet blobs), the status word and the response length.
 * Response data is never kept: BACKUP_EXPORT's answer is a wallet blob.
 * @module
 */
import { decodeCommand, toHex, type ApduTransport } from '../apdu/index.js';
import { Ins } from './wire.js';
import type { Exchange } from './types.js';

export class RecordingTransport implements ApduTransport {
  readonly #inner: ApduTransport;
  #log: Exchange[] = [];

  constructor(inner: ApduTransport) {
    this.#inner = inner;
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const response = await this.#inner.transmit(apdu);
    this.#log.push(describeExchange(apdu, response));
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

/** Commands whose data is secret (the access code) or a wallet blob; CLA 80 and its chained form 90. */
const SECRET_COMMAND_DATA: ReadonlySet<number> = new Set([Ins.VERIFY_PIN, Ins.CREATE_WALLET, Ins.BACKUP_IMPORT]);

function describeExchange(apdu: Uint8Array, response: Uint8Array): Exchange {
  const sw = response.length >= 2 ? toHex(response.subarray(response.length - 2)) : `?${toHex(response)}`;
  const responseBytes = Math.max(0, response.length - 2);
  let command: string;
  try {
    const d = decodeCommand(apdu);
    const secret = (d.cla & ~0x10) === 0x80 && SECRET_COMMAND_DATA.has(d.ins);
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
