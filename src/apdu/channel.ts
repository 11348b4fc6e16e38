/**
 * The transmit path as logic stacked over a "bytes in, bytes out" transport (the apdu4j / ykman
 * shape): command chaining (ISO/IEC 7816-4 5.3.3), response chaining with GET RESPONSE for 61xx and
 * the Le correction for 6Cxx (7816-4 5.3.4, 7816-3 12.2). No I/O here: the transport is src/readers'
 * business (PC/SC, transcript replay, tracing).
 * @module
 */
import { checkInt, describeType, hexNumber } from './_checks.js';
import { command, encodeCommand, INS_GET_RESPONSE, MAX_COMMAND_DATA, SHORT_MAX_DATA, SHORT_MAX_NE, type CommandApdu } from './command.js';
import { parseResponse, sw1, sw2, SW_OK, type ResponseApdu } from './response.js';
import { StatusWordError, type StatusTable } from './status.js';
import { concatBytes } from '@noble/hashes/utils.js';

/** Raw bytes in (a command APDU), raw bytes out (`data || SW1 SW2`). */
export interface ApduTransport {
  transmit(apdu: Uint8Array): Promise<Uint8Array>;
}

export interface ChannelOptions {
  /**
   * Most data bytes per APDU; longer data goes out as command chaining (CLA |= 0x10 on every block
   * but the last). Default 255, or 65535 with `extendedLength`.
   */
  readonly maxCommandData?: number;
  /** Default false. When true, long data and Ne > 256 use extended APDUs instead of chaining. */
  readonly extendedLength?: boolean;
  /** Default 64: most GET RESPONSE commands for one command (a card answering 61xx forever is an error). */
  readonly maxResponseChain?: number;
}

/** A card kept answering 61xx past the channel's `maxResponseChain`. */
export class ResponseChainError extends Error {
  /** GET RESPONSE commands sent before giving up. */
  readonly getResponses: number;
  constructor(getResponses: number, lastSw: number) {
    super(`response chaining did not end: still ${hexNumber(lastSw, 4)} after ${getResponses} GET RESPONSE commands`);
    this.name = 'ResponseChainError';
    this.getResponses = getResponses;
  }
}

/**
 * A second exchange was started while one was still pending on the same channel or transport. APDUs are
 * one at a time (a card has one command buffer): interleaving them would mix two conversations.
 */
export class ConcurrentExchangeError extends Error {
  override readonly name = 'ConcurrentExchangeError';
  /** Who refused: the channel, or the reader's name. */
  readonly where: string;
  constructor(where: string) {
    super(`${where}: an exchange is already in progress; APDUs go one at a time (await the previous one)`);
    this.where = where;
  }
}

const CHAINING_BIT = 0x10;

/**
 * Sends commands through a transport, hiding ISO chaining and Le retries, one exchange at a time.
 * @example
 * const channel = new ApduChannel(transport);
 * const data = await channel.sendOk(command(0x80, 0x10, 0, 0, undefined, 256), 'READ');
 */
export class ApduChannel {
  readonly #transport: ApduTransport;
  readonly #extended: boolean;
  readonly #maxData: number;
  readonly #maxChain: number;
  #busy = false;

  /** @throws TypeError / RangeError for a transport without transmit() or options out of range. */
  constructor(transport: ApduTransport, options: ChannelOptions = {}) {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
    if (typeof transport !== 'object' || transport === null || typeof transport.transmit !== 'function') {
      throw new TypeError(`ApduChannel: transport must have transmit(), got ${describeType(transport)}`);
    }
    const { extendedLength = false } = options;
    if (typeof extendedLength !== 'boolean') {
      throw new TypeError(`ApduChannel: extendedLength must be a boolean, got ${describeType(extendedLength)}`);
    }
    const dataLimit = extendedLength ? MAX_COMMAND_DATA : SHORT_MAX_DATA;
    this.#transport = transport;
    this.#extended = extendedLength;
    this.#maxData = checkInt('ApduChannel: maxCommandData', options.maxCommandData ?? dataLimit, 1, dataLimit);
    this.#maxChain = checkInt('ApduChannel: maxResponseChain', options.maxResponseChain ?? 64, 0, 0xffff);
  }

  /**
   * Sends one command and returns the card's whole answer: response chaining (61xx) is followed to
   * the end with the data concatenated, a 6Cxx is answered by resending the command once with the
   * Le the card asked for, and data longer than `maxCommandData` is sent as a command chain (an
   * intermediate block answered with anything but 9000 ends the chain, and that answer is returned).
   * Without `extendedLength`, Ne over 256 is sent as Le 00 and the rest comes by response chaining.
   * @throws ConcurrentExchangeError when called while another send() is pending;
   *   ResponseChainError; ApduFormatError for a response under 2 bytes; whatever the transport throws.
   */
  async send(cmd: CommandApdu): Promise<ResponseApdu> {
    if (this.#busy) throw new ConcurrentExchangeError('ApduChannel');
    this.#busy = true;
    try {
      return await this.#send(cmd);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * {@link send}, then the data when the status word is 9000.
   * @param what the command's name for the error message (`SIGN: SW=0x6982 (...)`)
   * @param table status words of the card's protocol, for the error message
   * @throws StatusWordError for any other status word, plus what send() throws.
   */
  async sendOk(cmd: CommandApdu, what?: string, table?: StatusTable): Promise<Uint8Array> {
    const response = await this.send(cmd);
    if (response.sw !== SW_OK) {
      throw new StatusWordError(response.sw, { command: what, data: response.data, table });
    }
    return response.data;
  }

  async #send(unchecked: CommandApdu): Promise<ResponseApdu> {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
    if (typeof unchecked !== 'object' || unchecked === null) {
      throw new TypeError(`ApduChannel.send: expected a CommandApdu, got ${describeType(unchecked)}`);
    }
    const cmd = command(unchecked.cla, unchecked.ins, unchecked.p1, unchecked.p2, unchecked.data, unchecked.ne);
    const { cla, ins, p1, p2, data } = cmd;
    if (data.length > this.#maxData) {
      if ((cla & CHAINING_BIT) !== 0) {
        throw new RangeError(`ApduChannel: CLA ${hexNumber(cla, 2)} already has the chaining bit; cannot chain ${data.length} bytes`);
      }
      let offset = 0;
      for (; data.length - offset > this.#maxData; offset += this.#maxData) {
        const block = data.subarray(offset, offset + this.#maxData);
        const response = await this.#transmit(command(cla | CHAINING_BIT, ins, p1, p2, block, 0));
        if (response.sw !== SW_OK) return response;
      }
      return this.#withResponseChaining(command(cla, ins, p1, p2, data.subarray(offset), cmd.ne));
    }
    return this.#withResponseChaining(cmd);
  }

  /** Sends `cmd` and follows 61xx with GET RESPONSE until the card is done. */
  async #withResponseChaining(cmd: CommandApdu): Promise<ResponseApdu> {
    let response = await this.#withLeCorrection(cmd);
    const parts: Uint8Array[] = [];
    let getResponses = 0;
    while (sw1(response.sw) === 0x61) {
      parts.push(response.data);
      if (getResponses === this.#maxChain) throw new ResponseChainError(getResponses, response.sw);
      getResponses++;
      response = await this.#withLeCorrection(
        command(getResponseCla(cmd.cla), INS_GET_RESPONSE, 0x00, 0x00, undefined, sw2(response.sw) || 256),
      );
    }
    if (parts.length === 0) return response;
    parts.push(response.data);
    return Object.freeze({ data: concatBytes(...parts), sw: response.sw });
  }

  /** Sends `cmd`; on 6Cxx sends it once more with Le = xx (00 meaning 256). */
  async #withLeCorrection(cmd: CommandApdu): Promise<ResponseApdu> {
    const response = await this.#transmit(cmd);
    if (sw1(response.sw) !== 0x6c) return response;
    return this.#transmit(command(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cmd.data, sw2(response.sw) || 256));
  }

  async #transmit(cmd: CommandApdu): Promise<ResponseApdu> {
    const apdu = this.#extended ? encodeCommand(cmd, 'auto') : encodeCommand({ ...cmd, ne: Math.min(cmd.ne, SHORT_MAX_NE) }, 'short');
    try {
      return parseResponse(await this.#transport.transmit(apdu));
    } finally {
      // The encoding is this channel's own copy and may hold an access code: do not leave it to the GC.
      apdu.fill(0);
    }
  }
}

/**
 * CLA for GET RESPONSE: 00 plus the logical channel bits of the command's CLA, so the answer is
 * fetched on the same channel. First interindustry class (and proprietary 8x..Bx by the usual
 * GlobalPlatform convention): channel in b2-b1. Further interindustry (4x..7x, and Cx..Fx): b7 set and
 * channel-4 in b4-b1.
 */
export function getResponseCla(cla: number): number {
  return (cla & 0x40) === 0 ? cla & 0x03 : 0x40 | (cla & 0x0f);
}
