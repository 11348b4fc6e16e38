/**
 * What the CLI's APDU trace hides (`--trace`, `TWINCARD_TRACE=1`). The twincard protocol's own secrets come
 * from the protocol layer (`createTraceRedactor`: the access code of VERIFY_PIN and CREATE_WALLET, the wallet
 * blob of BACKUP_EXPORT's answer and BACKUP_IMPORT's data, GET RESPONSE continuations and chained blocks included). The CLI adds
 * the interindustry commands that carry a PIN on ANY card, because `twincard apdu --trace` talks to any card
 * and a trace ends up in bug reports: ISO 7816-4 VERIFY (20/21), CHANGE REFERENCE DATA (24), DISABLE /
 * ENABLE VERIFICATION REQUIREMENT (26/28) and RESET RETRY COUNTER (2C), on an interindustry CLA (b8 = 0).
 * Redacted data prints as its length only: `[redacted 6 bytes]`.
 * @module
 */
import { createTraceRedactor } from '../protocol/constants.js';
import type { CommandHeader, Redactor } from '../readers/index.js';

/** ISO 7816-4 section 11.5 commands whose data field is reference data (a PIN, a PUK). */
const ISO_PIN_INS: ReadonlySet<number> = new Set([0x20, 0x21, 0x24, 0x26, 0x28, 0x2c]);

/**
 * A fresh redactor for one traced card session (it is stateful: a GET RESPONSE inherits the redaction of
 * the command it continues).
 * @example new TracingTransport(card, sink, cliTraceRedactor())
 */
export function cliTraceRedactor(): Redactor {
  const protocol = createTraceRedactor();
  return (header: CommandHeader) => {
    // Always ask the protocol redactor, so its GET RESPONSE bookkeeping sees every command.
    const redaction = protocol(header);
    const interindustry = (header.cla & 0x80) === 0;
    if (interindustry && ISO_PIN_INS.has(header.ins)) return { ...redaction, command: true };
    return redaction;
  };
}
