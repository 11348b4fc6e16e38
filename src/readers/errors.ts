/**
 * Typed PC/SC errors. The `pcsclite` binding throws plain Errors with the PC/SC code only in the text
 * (`Card was removed.(0x80100069)`), so callers could not act on them; here they become a numeric code and a
 * kind, with a message that says what to do.
 */
export type PcscErrorKind =
  | 'service-unavailable'
  | 'no-readers'
  | 'card-removed'
  | 'no-card'
  | 'reader-unavailable'
  | 'timeout'
  | 'sharing-violation'
  | 'insufficient-buffer'
  | 'cancelled'
  | 'unpowered'
  | 'unresponsive'
  | 'transaction-failed'
  | 'other';

const KINDS: ReadonlyMap<number, { kind: PcscErrorKind; advice: string }> = new Map([
  [0x8010001d, { kind: 'service-unavailable', advice: 'is pcscd running? start it (scripts/sim.sh up starts one for the virtual cards)' }],
  [0x8010001e, { kind: 'service-unavailable', advice: 'pcscd stopped; start it again' }],
  [0x8010002e, { kind: 'no-readers', advice: 'connect a reader' }],
  [0x80100069, { kind: 'card-removed', advice: 'the card left the reader; present it again' }],
  [0x8010000c, { kind: 'no-card', advice: 'present a card to the reader' }],
  [0x80100017, { kind: 'reader-unavailable', advice: 'the reader went away; reconnect it' }],
  [0x80100009, { kind: 'reader-unavailable', advice: 'unknown reader; list them with `twincard readers`' }],
  [0x8010000a, { kind: 'timeout', advice: 'nothing happened in time' }],
  [0x8010000b, { kind: 'sharing-violation', advice: 'another program holds the card exclusively' }],
  [0x80100008, { kind: 'insufficient-buffer', advice: 'the response was larger than the buffer' }],
  [0x80100002, { kind: 'cancelled', advice: 'the operation was cancelled' }],
  [0x80100067, { kind: 'unpowered', advice: 'the card is unpowered; present it again' }],
  // What a card pulled away mid-command gives through vpcd (and many contactless readers): the exchange broke.
  [0x80100016, { kind: 'transaction-failed', advice: 'the exchange with the card broke off (card moved away?); present it again' }],
  [0x80100066, { kind: 'unresponsive', advice: 'the card does not answer; present it again' }],
]);

export class PcscError extends Error {
  override readonly name = 'PcscError';
  readonly code: number;
  readonly kind: PcscErrorKind;
  constructor(message: string, code: number, kind: PcscErrorKind) {
    super(message);
    this.code = code;
    this.kind = kind;
  }
}

/**
 * Converts whatever the binding threw into a PcscError (an existing PcscError is returned as is).
 * @param operation what was being done, for the message ("transmit to Virtual PCD 00 00")
 */
export function toPcscError(error: unknown, operation: string): PcscError {
  if (error instanceof PcscError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const match = /\(0x([0-9a-fA-F]{1,8})\)/.exec(text);
  const code = match?.[1] === undefined ? 0 : Number.parseInt(match[1], 16);
  const known = KINDS.get(code);
  const hex = `0x${code.toString(16).toUpperCase().padStart(8, '0')}`;
  const detail = text.replace(/\s*\(0x[0-9a-fA-F]+\)\s*$/, '').trim();
  return new PcscError(`${operation}: ${detail} (${hex})${known === undefined ? '' : `: ${known.advice}`}`, code, known?.kind ?? 'other');
}

/** No reader, none matching the selector, or several matching. */
export class ReaderSelectionError extends Error {
  override readonly name = 'ReaderSelectionError';
  constructor(
    message: string,
    readonly kind: 'no-reader' | 'not-found' | 'ambiguous',
    readonly readers: readonly string[],
  ) {
    super(message);
  }
}

/** Nothing was presented (or no reader appeared) in the time given. */
export class CardWaitTimeoutError extends Error {
  override readonly name = 'CardWaitTimeoutError';
  constructor(
    readonly reader: string,
    readonly timeoutMs: number,
  ) {
    super(`no card in ${JSON.stringify(reader)} after ${(timeoutMs / 1000).toFixed(1)} s: present a card`);
  }
}
