/**
 * APDU trace in the GlobalPlatformPro shape, as a transport wrapper:
 *   >> 80010000 05 0102030405 00
 *   << 0102030405 9000 (0.4 ms)
 * The protocol layer supplies a Redactor so secret fields (PINs, key blobs) print as their length only; a
 * GET RESPONSE and the blocks of a command chain are redacted like the command they belong to.
 */
import { decodeCommand, statusName, toHex, type ApduTransport } from '../apdu/index.js';

export interface CommandHeader {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
}

export type Redactor = (header: CommandHeader) => { command?: boolean; response?: boolean } | undefined;

const INS_GET_RESPONSE = 0xc0;

export class TracingTransport implements ApduTransport {
  /** Redaction of the last command that was not a GET RESPONSE: its continuations inherit it. */
  #current: { command?: boolean; response?: boolean } | undefined;

  constructor(
    private readonly inner: ApduTransport,
    private readonly sink: (line: string) => void,
    private readonly redactor?: Redactor,
  ) {}

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    this.sink(`>> ${this.#formatCommand(apdu)}`);
    const started = process.hrtime.bigint();
    const response = await this.inner.transmit(apdu);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.sink(`<< ${this.#formatResponse(response)} (${ms.toFixed(ms < 10 ? 2 : 0)} ms)`);
    return response;
  }

  #formatCommand(apdu: Uint8Array): string {
    let decoded;
    try {
      decoded = decodeCommand(apdu);
    } catch {
      // Unparsed, nothing tells which bytes are secret: show the header only.
      return `${toHex(apdu.subarray(0, 4))} [${apdu.length} bytes, malformed: body not shown]`;
    }
    if (decoded.ins !== INS_GET_RESPONSE) {
      this.#current = this.redactor?.({ cla: decoded.cla, ins: decoded.ins, p1: decoded.p1, p2: decoded.p2 });
    }
    const header = toHex(apdu.subarray(0, 4));
    const width = decoded.extended ? 6 : 2;
    const parts = [header];
    if (decoded.data.length > 0) {
      parts.push(decoded.data.length.toString(16).toUpperCase().padStart(width, '0'));
      parts.push(this.#current?.command === true && decoded.ins !== INS_GET_RESPONSE ? `[redacted ${decoded.data.length} bytes]` : toHex(decoded.data));
    }
    if (decoded.ne > 0) {
      const le = decoded.ne === (decoded.extended ? 65536 : 256) ? 0 : decoded.ne;
      parts.push(le.toString(16).toUpperCase().padStart(decoded.extended && decoded.data.length === 0 ? 6 : width, '0'));
    }
    return parts.join(' ');
  }

  #formatResponse(response: Uint8Array): string {
    if (response.length < 2) return `${toHex(response)} (malformed: under 2 bytes)`;
    const data = response.subarray(0, response.length - 2);
    const sw = (response[response.length - 2]! << 8) | response[response.length - 1]!;
    const swText = toHex(response.subarray(response.length - 2));
    const shownData = data.length === 0 ? '' : this.#current?.response === true ? `[redacted ${data.length} bytes] ` : `${toHex(data)} `;
    const named = sw === 0x9000 || (sw >> 8) === 0x61 ? swText : `${swText} (${statusName(sw)})`;
    return `${shownData}${named}`;
  }
}
