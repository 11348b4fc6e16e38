/**
 * ISO/IEC 7816-4 for twincard: hex, command/response APDUs, status words, TLV codecs and the
 * chaining-aware channel over an abstract transport. Pure: no I/O, no printing.
 * @module
 */
export { toHex, fromHex } from './hex.js';
export { ApduFormatError, command, decodeCommand, encodeCommand, INS_GET_RESPONSE, type CommandApdu } from './command.js';
export { encodeResponse, SW_OK, type ResponseApdu } from './response.js';
export { describeStatus, formatSw, extendStatusTable, ISO_STATUS_WORDS, statusName, StatusWordError, type StatusTable } from './status.js';
export { decodeProtocolTlv, encodeProtocolTlvs, TlvError, TlvRecord, type LengthSpec } from './tlv.js';
export { ApduChannel, ConcurrentExchangeError, ResponseChainError, type ApduTransport, type ChannelOptions } from './channel.js';
export {
  describeCommand,
  ExchangeRedactor,
  type ApduHeader,
  type CommandView,
  type Redaction,
  type RedactionPolicy,
  type ResponseView,
} from './redact.js';
export { DEFAULT_EXCHANGE_TIMEOUT_MS, ExchangeTimeoutError, TimeoutTransport } from './timeout.js';
