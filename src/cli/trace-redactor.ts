/**
 * What the CLI's APDU trace (`--trace`, `TWINCARD_TRACE=1`), its `--record` transcripts and `twincard apdu`'s
 * report hide: the one policy of src/protocol/redaction.ts (the access code in any form a host might send it,
 * the wallet blob both ways, the ISO PIN commands of any card), applied by one {@link ExchangeRedactor}.
 * Redacted data prints as its length only: `[redacted 6 bytes]`.
 * @module
 */
import type { ExchangeRedactor } from '../apdu/index.js';
import { createExchangeRedactor } from '../protocol/redaction.js';

/**
 * A fresh redactor for one card session (it is stateful: a GET RESPONSE inherits the redaction of
 * the command it continues).
 * @example new TracingTransport(card, sink, cliTraceRedactor())
 */
export function cliTraceRedactor(): ExchangeRedactor {
  return createExchangeRedactor();
}
