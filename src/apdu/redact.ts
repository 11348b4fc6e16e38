/**
 * Applying a redaction policy to a stream of exchanges: the ONE place that decides which bytes of a command
 * and of a response a trace, a recorded transcript or a report may show. The policy (which INS carries a
 * secret) belongs to the card's protocol and is passed in; what is generic ISO 7816-4 stays here: the data
 * field's position (short or extended Lc), command chaining (each block is judged by its own header, which
 * keeps the INS) and response chaining (a GET RESPONSE says nothing about the command it continues, so it
 * inherits that command's response redaction).
 * @module
 */
import { decodeCommand, INS_GET_RESPONSE } from './command.js';
import { toHex } from './hex.js';

/** The header of a command APDU, which is all a redaction policy sees. */
export interface ApduHeader {
  readonly cla: number;
  readonly ins: number;
  readonly p1: number;
  readonly p2: number;
}

/** What to hide for one command: its data, its response's data; `wrapped` marks secure-messaging data. */
export interface Redaction {
  readonly command?: boolean;
  readonly response?: boolean;
  /** The data is ciphertext of a secure channel: shown, but labelled as such. */
  readonly wrapped?: boolean;
}

/** A redaction policy, stateless: undefined means show the exchange in full. GET RESPONSE never reaches it. */
export type RedactionPolicy = (header: ApduHeader) => Redaction | undefined;

/** One command as it may be shown. */
export interface CommandView {
  /** The bytes as sent (never print them directly: use `dataOffset`/`dataLength`/`hideData`). */
  readonly apdu: Uint8Array;
  /** Where the data field starts and how long it is; for a malformed APDU, everything after the header. */
  readonly dataOffset: number;
  readonly dataLength: number;
  readonly hideData: boolean;
  readonly wrapped: boolean;
  /** The APDU does not parse: nothing tells where its data is, so everything past the header is hidden. */
  readonly malformed: boolean;
  readonly isGetResponse: boolean;
}

/** One response as it may be shown. */
export interface ResponseView {
  readonly bytes: Uint8Array;
  /** Bytes before the status word (0 when the response is under 2 bytes: then there is no status word). */
  readonly dataLength: number;
  readonly hideData: boolean;
}

/**
 * Stateful, one per card session: feed it every command in order, then its response.
 * @example
 * const redactor = new ExchangeRedactor(twincardRedaction);
 * const shownCommand = redactor.command(apdu); const shownResponse = redactor.response(answer);
 */
export class ExchangeRedactor {
  readonly #policy: RedactionPolicy;
  /** Response redaction of the last command that was not a GET RESPONSE: its continuations inherit it. */
  #responseSecret = false;
  #lastResponseSecret = false;

  constructor(policy: RedactionPolicy) {
    this.#policy = policy;
  }

  command(apdu: Uint8Array): CommandView {
    if (apdu.length < 4) {
      this.#responseSecret = false;
      this.#lastResponseSecret = false;
      return { apdu, dataOffset: 0, dataLength: apdu.length, hideData: false, wrapped: false, malformed: true, isGetResponse: false };
    }
    const header: ApduHeader = { cla: apdu[0]!, ins: apdu[1]!, p1: apdu[2]!, p2: apdu[3]! };
    const isGetResponse = header.ins === INS_GET_RESPONSE;
    let redaction: Redaction | undefined;
    if (isGetResponse) {
      redaction = this.#responseSecret ? { response: true } : undefined;
    } else {
      redaction = this.#policy(header);
      this.#responseSecret = redaction?.response === true;
    }
    this.#lastResponseSecret = redaction?.response === true;
    let dataOffset: number;
    let dataLength: number;
    let malformed = false;
    try {
      const decoded = decodeCommand(apdu);
      dataOffset = decoded.data.length === 0 ? apdu.length : decoded.extended ? 7 : 5;
      dataLength = decoded.data.length;
    } catch {
      malformed = true;
      dataOffset = 4;
      dataLength = apdu.length - 4;
    }
    return {
      apdu,
      dataOffset,
      dataLength,
      // Unparsed, nothing tells which bytes are secret: hide them all.
      hideData: dataLength > 0 && (malformed || redaction?.command === true),
      wrapped: redaction?.wrapped === true,
      malformed,
      isGetResponse,
    };
  }

  /** The response to the command last passed to {@link command}. */
  response(bytes: Uint8Array): ResponseView {
    const dataLength = bytes.length < 2 ? 0 : bytes.length - 2;
    return { bytes, dataLength, hideData: dataLength > 0 && this.#lastResponseSecret };
  }
}

/**
 * One-line form for reports (`twincard apdu --json`, conformance reports): the command in hex, or its header
 * and Lc with `[redacted N bytes]` in place of the data (then Le); a malformed one shows 5 bytes and a count.
 * @example describeCommand(view) // '8020000006 [redacted 6 bytes]'
 */
export function describeCommand(view: CommandView): string {
  const { apdu } = view;
  if (!view.hideData) return toHex(apdu);
  if (view.malformed) return apdu.length <= 5 ? toHex(apdu) : `${toHex(apdu.subarray(0, 5))} [${apdu.length - 5} bytes]`;
  const tail = apdu.subarray(view.dataOffset + view.dataLength);
  return `${toHex(apdu.subarray(0, view.dataOffset))} [redacted ${view.dataLength} bytes]${tail.length > 0 ? ` ${toHex(tail)}` : ''}`;
}
