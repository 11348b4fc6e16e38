/**
 * ISO/IEC 7816-4 for twincard: hex, command/response APDUs, status words, TLV codecs and the
 * chaining-aware channel over an abstract transport. Pure: no I/O, no printing.
 * @module
 */
export { toHex, fromHex } from './hex.js';
export {
  ApduFormatError,
  command,
  decodeCommand,
  encodeCommand,
  fitsShort,
  INS_GET_RESPONSE,
  MAX_COMMAND_DATA,
  MAX_NE,
  SHORT_MAX_DATA,
  SHORT_MAX_NE,
  type CommandApdu,
  type DecodedCommand,
  type LengthEncoding,
} from './command.js';
export { encodeResponse, parseResponse, sw1, sw2, SW_OK, type ResponseApdu } from './response.js';
export {
  describeStatus,
  formatSw,
  extendStatusTable,
  ISO_STATUS_WORDS,
  lookupStatus,
  statusName,
  StatusWordError,
  type StatusTable,
  type StatusWordInfo,
} from './status.js';
export {
  BER_MAX_LENGTH,
  decodeBerTlv,
  decodeProtocolTlv,
  encodeBerTlv,
  encodeProtocolTlv,
  encodeProtocolTlvs,
  isConstructed,
  PROTOCOL_MAX_LENGTH,
  TlvError,
  TlvRecord,
  type LengthSpec,
  type Tlv,
  type TlvRecordOptions,
} from './tlv.js';
export {
  ApduChannel,
  ConcurrentExchangeError,
  getResponseCla,
  ResponseChainError,
  type ApduTransport,
  type ChannelOptions,
} from './channel.js';
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
