/**
 * APDU trace in the GlobalPlatformPro shape, as a transport wrapper:
 *   >> 80010000 05 0102030405 00
 *   << 0102030405 9000 (0.4 ms)
 *   >> 84200000 38 [wrapped] 00000001...
 * The protocol layer supplies an {@link ExchangeRedactor} so secret fields (PINs, key blobs) print as their
 * length only (`[redacted 6 bytes]`); it also follows chains and GET RESPONSE continuations.
 */
import { ExchangeRedactor, formatSw, statusName, toHex, type ApduTransport, type CommandView, type ResponseView } from '../apdu/index.js';

export class TracingTransport implements ApduTransport {
  readonly #redactor: ExchangeRedactor;

  /** @param redactor one per session; without one, nothing is hidden (only for cards that hold no secret). */
  constructor(
    private readonly inner: ApduTransport,
    private readonly sink: (line: string) => void,
    redactor?: ExchangeRedactor,
  ) {
    this.#redactor = redactor ?? new ExchangeRedactor(() => undefined);
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    this.sink(`>> ${formatTraceCommand(this.#redactor.command(apdu))}`);
    const started = process.hrtime.bigint();
    const response = await this.inner.transmit(apdu);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.sink(`<< ${formatTraceResponse(this.#redactor.response(response))} (${ms.toFixed(ms < 10 ? 2 : 0)} ms)`);
    return response;
  }
}

/** `80200000 06 [redacted 6 bytes]`: header, Lc, data (or its length), Le, as sent. */
function formatTraceCommand(view: CommandView): string {
  const { apdu } = view;
  if (view.malformed) {
    const shown = toHex(apdu.subarray(0, Math.min(4, apdu.length)));
    return `${shown} [${apdu.length} bytes, malformed: body not shown]`;
  }
  const parts = [toHex(apdu.subarray(0, 4))];
  if (view.dataLength > 0) {
    parts.push(toHex(apdu.subarray(4, view.dataOffset)));
    const data = view.hideData
      ? `[redacted ${view.dataLength} bytes]`
      : toHex(apdu.subarray(view.dataOffset, view.dataOffset + view.dataLength));
    parts.push(view.wrapped ? `[wrapped] ${data}` : data);
  }
  const le = apdu.subarray(view.dataLength > 0 ? view.dataOffset + view.dataLength : 4);
  if (le.length > 0) parts.push(toHex(le));
  return parts.join(' ');
}

/** `[redacted 256 bytes] 61xx`, with the status word's name when it is neither 9000 nor 61xx. */
function formatTraceResponse(view: ResponseView): string {
  const { bytes } = view;
  if (bytes.length < 2) return `${toHex(bytes)} (malformed: under 2 bytes)`;
  const sw = (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]!;
  const data =
    view.dataLength === 0 ? '' : view.hideData ? `[redacted ${view.dataLength} bytes] ` : `${toHex(bytes.subarray(0, view.dataLength))} `;
  const named = sw === 0x9000 || sw >> 8 === 0x61 ? formatSw(sw) : `${formatSw(sw)} (${statusName(sw)})`;
  return `${data}${named}`;
}
