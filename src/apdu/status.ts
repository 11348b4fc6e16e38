/**
 * Status words: names and meanings for people and for typed errors. ISO/IEC 7816-4:2020 section 5.6
 * (tables 5 and 6) for the interindustry words; a card protocol adds its own (ISO leaves `9XXX` to
 * applications) with {@link extendStatusTable}.
 * @module
 */
import { checkInt, describeType, hexNumber } from './_checks.js';

export interface StatusWordInfo {
  /** Constant-style name, e.g. `FILE_NOT_FOUND`. */
  readonly name: string;
  /** Lower-case explanation, e.g. `file or application not found`. */
  readonly meaning: string;
}

export type StatusTable = ReadonlyMap<number, StatusWordInfo>;

const iso: Array<[number, string, string]> = [
  [0x9000, 'SUCCESS', 'success'],
  // 62xx: warning, non-volatile memory unchanged
  [0x6200, 'WARNING_NO_INFO', 'warning, state unchanged, no information given'],
  [0x6281, 'DATA_MAY_BE_CORRUPTED', 'part of returned data may be corrupted'],
  [0x6282, 'END_OF_FILE', 'end of file or record reached before reading Ne bytes'],
  [0x6283, 'FILE_DEACTIVATED', 'selected file deactivated'],
  [0x6284, 'FCI_FORMAT_INVALID', 'file control information not formatted according to ISO 7816-4'],
  [0x6285, 'FILE_TERMINATED', 'selected file in termination state'],
  [0x6286, 'NO_SENSOR_DATA', 'no input data available from a sensor on the card'],
  // 63xx: warning, non-volatile memory changed
  [0x6300, 'WARNING_STATE_CHANGED', 'warning, state changed, no information given (often: verification failed)'],
  [0x6381, 'FILE_FILLED_UP', 'file filled up by the last write'],
  // 64xx / 65xx: execution errors
  [0x6400, 'EXECUTION_ERROR', 'execution error, state unchanged'],
  [0x6401, 'IMMEDIATE_RESPONSE_REQUIRED', 'immediate response required by the card'],
  [0x6500, 'EXECUTION_ERROR_STATE_CHANGED', 'execution error, state changed'],
  [0x6581, 'MEMORY_FAILURE', 'memory failure'],
  // 67xx .. 6Fxx: checking errors
  [0x6700, 'WRONG_LENGTH', 'wrong length'],
  [0x6800, 'CLA_FUNCTION_NOT_SUPPORTED', 'functions in CLA not supported'],
  [0x6881, 'LOGICAL_CHANNEL_NOT_SUPPORTED', 'logical channel not supported'],
  [0x6882, 'SECURE_MESSAGING_NOT_SUPPORTED', 'secure messaging not supported'],
  [0x6883, 'LAST_COMMAND_OF_CHAIN_EXPECTED', 'last command of the chain expected'],
  [0x6884, 'COMMAND_CHAINING_NOT_SUPPORTED', 'command chaining not supported'],
  [0x6900, 'COMMAND_NOT_ALLOWED', 'command not allowed, no information given'],
  [0x6981, 'INCOMPATIBLE_FILE_STRUCTURE', 'command incompatible with file structure'],
  [0x6982, 'SECURITY_STATUS_NOT_SATISFIED', 'security status not satisfied'],
  [0x6983, 'AUTH_METHOD_BLOCKED', 'authentication method blocked'],
  [0x6984, 'REFERENCE_DATA_NOT_USABLE', 'reference data not usable'],
  [0x6985, 'CONDITIONS_NOT_SATISFIED', 'conditions of use not satisfied'],
  [0x6986, 'COMMAND_NOT_ALLOWED_NO_EF', 'command not allowed (no current EF)'],
  [0x6987, 'SM_DATA_OBJECTS_MISSING', 'expected secure messaging data objects missing'],
  [0x6988, 'SM_DATA_OBJECTS_INCORRECT', 'incorrect secure messaging data objects'],
  // Not ISO 7816-4 but javacard.framework.ISO7816.SW_APPLET_SELECT_FAILED: what a JavaCard runtime
  // (jCardSim included) answers when the selected applet refuses or is not installed.
  [0x6999, 'APPLET_SELECT_FAILED', 'applet selection failed'],
  [0x6a00, 'WRONG_PARAMETERS', 'wrong parameters P1-P2, no information given'],
  [0x6a80, 'WRONG_DATA', 'incorrect parameters in the command data field'],
  [0x6a81, 'FUNCTION_NOT_SUPPORTED', 'function not supported'],
  [0x6a82, 'FILE_NOT_FOUND', 'file or application not found'],
  [0x6a83, 'RECORD_NOT_FOUND', 'record not found'],
  [0x6a84, 'NOT_ENOUGH_MEMORY', 'not enough memory space in the file'],
  [0x6a85, 'NC_INCONSISTENT_WITH_TLV', 'Nc inconsistent with TLV structure'],
  [0x6a86, 'INCORRECT_P1P2', 'incorrect parameters P1-P2'],
  [0x6a87, 'NC_INCONSISTENT_WITH_P1P2', 'Nc inconsistent with parameters P1-P2'],
  [0x6a88, 'REFERENCED_DATA_NOT_FOUND', 'referenced data or reference data not found'],
  [0x6a89, 'FILE_ALREADY_EXISTS', 'file already exists'],
  [0x6a8a, 'DF_NAME_ALREADY_EXISTS', 'DF name already exists'],
  [0x6b00, 'WRONG_P1P2', 'wrong parameters P1-P2'],
  [0x6d00, 'INS_NOT_SUPPORTED', 'instruction code not supported or invalid'],
  [0x6e00, 'CLA_NOT_SUPPORTED', 'class not supported'],
  [0x6f00, 'NO_PRECISE_DIAGNOSIS', 'no precise diagnosis'],
];

/** The ISO 7816-4 status words with a fixed value (patterns such as 61xx are handled by the functions). */
export const ISO_STATUS_WORDS: StatusTable = freezeMap(new Map(iso.map(([sw, name, meaning]) => [sw, Object.freeze({ name, meaning })])));

/**
 * A new table with `extra` added to `base`; an entry in `extra` replaces the base entry for the same
 * word (a protocol may give an ISO word a sharper meaning).
 * @throws TypeError / RangeError for a key that is not a status word 0x0000..0xFFFF or an entry
 *   without a non-empty name and meaning.
 * @example extendStatusTable(ISO_STATUS_WORDS, { 0x9a01: { name: 'CERT_INVALID', meaning: 'certificate invalid' } })
 */
export function extendStatusTable(base: StatusTable, extra: Record<number, StatusWordInfo>): StatusTable {
  if (!((base as unknown) instanceof Map)) throw new TypeError(`extendStatusTable: base must be a Map, got ${describeType(base)}`);
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
  if (typeof extra !== 'object' || extra === null) {
    throw new TypeError(`extendStatusTable: extra must be an object, got ${describeType(extra)}`);
  }
  const table = new Map(base);
  for (const [key, info] of Object.entries(extra)) {
    const sw = checkInt(`extendStatusTable: status word ${key}`, Number(key), 0, 0xffff);
    const where = `extendStatusTable: ${hexNumber(sw, 4)}`;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- runtime check for untyped callers
    if (typeof info !== 'object' || info === null) throw new TypeError(`${where}: expected { name, meaning }`);
    if (typeof info.name !== 'string' || info.name.length === 0) throw new TypeError(`${where}: name must be a non-empty string`);
    if (typeof info.meaning !== 'string' || info.meaning.length === 0) {
      throw new TypeError(`${where}: meaning must be a non-empty string`);
    }
    table.set(sw, Object.freeze({ name: info.name, meaning: info.meaning }));
  }
  return freezeMap(table);
}

/**
 * What a status word means: the table entry for the exact word first, then the ISO words whose SW2
 * is a number (61xx, 6Cxx, 63Cx), else undefined.
 */
export function lookupStatus(sw: number, table: StatusTable = ISO_STATUS_WORDS): StatusWordInfo | undefined {
  checkInt('sw', sw, 0, 0xffff);
  const exact = table.get(sw);
  if (exact !== undefined) return exact;
  const low = sw & 0xff;
  switch (sw >> 8) {
    case 0x61:
      return {
        name: 'BYTES_REMAINING',
        meaning: low === 0 ? '256 or more bytes still available' : `${low} bytes still available`,
      };
    case 0x6c:
      return { name: 'WRONG_LE', meaning: `wrong Le, exact length is ${low === 0 ? 256 : low}` };
    case 0x63:
      if ((low & 0xf0) === 0xc0) {
        const tries = low & 0x0f;
        return { name: 'VERIFICATION_FAILED', meaning: `verification failed, ${tries} ${tries === 1 ? 'try' : 'tries'} left` };
      }
  }
  return undefined;
}

/**
 * One line for logs and error messages.
 * @example describeStatus(0x6a82) // 'SW=0x6A82 (FILE_NOT_FOUND: file or application not found)'
 * @example describeStatus(0x63c2) // 'SW=0x63C2 (VERIFICATION_FAILED: verification failed, 2 tries left)'
 * @example describeStatus(0x1234) // 'SW=0x1234 (UNKNOWN)'
 */
export function describeStatus(sw: number, table: StatusTable = ISO_STATUS_WORDS): string {
  const info = lookupStatus(sw, table);
  return `SW=${hexNumber(sw, 4)} (${info === undefined ? 'UNKNOWN' : `${info.name}: ${info.meaning}`})`;
}

/**
 * A status word as its four upper-case hex digits, the one form traces, transcripts and reports use.
 * @example formatSw(0x6a82) // '6A82'
 */
export function formatSw(sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0');
}

/** The constant-style name of a status word, `UNKNOWN` when it has none. */
export function statusName(sw: number, table: StatusTable = ISO_STATUS_WORDS): string {
  return lookupStatus(sw, table)?.name ?? 'UNKNOWN';
}

/** A card answered something other than success. */
export class StatusWordError extends Error {
  readonly sw: number;
  readonly statusName: string;
  /** Response data that came with the status word (usually empty). */
  readonly data: Uint8Array;
  /** The command's name when the caller gave one, e.g. `SIGN`. */
  readonly command?: string;

  /**
   * @param options.command prefixes the message: `SIGN: SW=0x6982 (...)`
   * @param options.table names the protocol's own words
   */
  constructor(sw: number, options: { command?: string; data?: Uint8Array; table?: StatusTable } = {}) {
    const { command, data = new Uint8Array(0), table = ISO_STATUS_WORDS } = options;
    const description = describeStatus(sw, table);
    super(command === undefined ? description : `${command}: ${description}`);
    this.name = 'StatusWordError';
    this.sw = sw;
    this.statusName = statusName(sw, table);
    this.data = data;
    if (command !== undefined) this.command = command;
  }
}

/** A Map whose mutators throw, so a shared table cannot be changed under another module's feet. */
function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('status tables are read-only: use extendStatusTable');
  };
  map.set = refuse;
  map.delete = refuse;
  map.clear = refuse;
  return Object.freeze(map);
}
