/**
 * What a trace, a recorded transcript or a report must never show of a twincard session (docs/protocol.md
 * sections 1.3, 1.4 and 6), as ONE policy for {@link ExchangeRedactor} (src/apdu/redact.ts), which applies it
 * to chains and GET RESPONSE continuations:
 * - the access code: the data of VERIFY_PIN, CREATE_WALLET, CHANGE_ACCESS_CODE and RESET in plain form
 *   (CLA 80/90). The card refuses them plain (6987), but a host might still send them, and then the bytes
 *   are the code;
 * - the wallet blob: BACKUP_EXPORT's answer and BACKUP_IMPORT's data. Their other fields (certificates,
 *   EB, EP, signatures) are public, but they share the field with the blob (or, chained, a block of it),
 *   so the whole field goes;
 * - wrapped commands (CLA 84/94) carry ciphertext under session keys that never leave the card and the
 *   host's memory: not a secret, so kept, and marked as wrapped. Their answers are not wrapped (section
 *   1.4), so BACKUP_EXPORT's answer is hidden wrapped or not;
 * - on an interindustry CLA, the ISO 7816-4 commands whose data is reference data (a PIN, a PUK) on ANY
 *   card: VERIFY (20/21), CHANGE REFERENCE DATA (24), DISABLE / ENABLE VERIFICATION REQUIREMENT (26/28),
 *   RESET RETRY COUNTER (2C): `twincard apdu` talks to any card, and traces end up in bug reports.
 * @module
 */
import { ExchangeRedactor, type ApduHeader, type Redaction } from '../apdu/index.js';
import { CLA_PROPRIETARY, Ins } from './constants.js';

export type { ApduHeader, Redaction } from '../apdu/index.js';

/** The chaining bit of CLA (ISO/IEC 7816-4 5.4.1): a chained block keeps its INS, so it is judged the same. */
const CLA_CHAINING = 0x10;
/** Secure messaging (section 1.4): CLA 84, a chained block 94. */
const CLA_WRAPPED = 0x84;
/** INS of the commands section 6 adds for the session (named in constants.ts' Ins by the host layer). */
const INS_CHANGE_ACCESS_CODE = 0x24;
const INS_RESET = 0x28;

const HIDE_COMMAND: Redaction = Object.freeze({ command: true });
const HIDE_RESPONSE: Redaction = Object.freeze({ response: true });

/** Plain twincard commands (CLA 80/90) and what of them is secret. */
const PLAIN_SECRETS: ReadonlyMap<number, Redaction> = new Map<number, Redaction>([
  [Ins.VERIFY_PIN, HIDE_COMMAND],
  [Ins.CREATE_WALLET, HIDE_COMMAND],
  [INS_CHANGE_ACCESS_CODE, HIDE_COMMAND],
  [INS_RESET, HIDE_COMMAND],
  [Ins.BACKUP_EXPORT, HIDE_RESPONSE],
  [Ins.BACKUP_IMPORT, HIDE_COMMAND],
]);

/** ISO 7816-4 section 11.5 commands whose data field is reference data (a PIN, a PUK). */
const ISO_PIN_INS: ReadonlySet<number> = new Set([0x20, 0x21, 0x24, 0x26, 0x28, 0x2c]);

/**
 * The redaction of one twincard (or interindustry) command, from its header alone. Stateless; GET RESPONSE
 * is handled by {@link ExchangeRedactor}, never passed here.
 * @example twincardRedaction({ cla: 0x80, ins: 0x20, p1: 0, p2: 0 }) // { command: true }
 */
export function twincardRedaction(header: ApduHeader): Redaction | undefined {
  const cla = header.cla & ~CLA_CHAINING;
  if (cla === CLA_PROPRIETARY) return PLAIN_SECRETS.get(header.ins);
  if (cla === CLA_WRAPPED) {
    return header.ins === Ins.BACKUP_EXPORT ? { response: true, wrapped: true } : { wrapped: true };
  }
  if ((header.cla & 0x80) === 0 && ISO_PIN_INS.has(header.ins)) return HIDE_COMMAND;
  return undefined;
}

/**
 * A fresh redactor for one card session (stateful: a GET RESPONSE inherits the redaction of the command it
 * continues). Every trace, recording and report of a twincard session uses this one.
 * @example new TracingTransport(card, sink, createExchangeRedactor())
 */
export function createExchangeRedactor(): ExchangeRedactor {
  return new ExchangeRedactor(twincardRedaction);
}
