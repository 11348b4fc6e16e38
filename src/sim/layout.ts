/**
 * Where the virtual cards sit: the one definition of their vpcd ports and PC/SC reader names. `scripts/sim.sh up`
 * writes pcscd's reader configuration from {@link vpcdEntries} (through `scripts/lib/sim-helper.mjs`), so the
 * names pcscd gives the readers and the names computed here cannot drift apart.
 *
 * pcscd names a reader `FRIENDLYNAME 00 0s` for slot s of a configuration entry; one vpcd entry with CHANNELID P
 * serves two slots, listening on TCP ports P and P+1. Card k starts in reader k: slot k%2 of entry k/2.
 * @module
 */

/** vpcd's first port (its Debian default entry): reader r listens on VPCD_BASE_PORT + r. */
const VPCD_BASE_PORT = 35963;

/** Reader slots per vpcd entry. */
const SLOTS_PER_ENTRY = 2;

/** One pcscd configuration entry for vpcd: two reader slots. */
export interface VpcdEntry {
  readonly index: number;
  /**
   * Distinct per entry: two entries with one name made duplicate reader names whose first entry was never
   * polled; hence "Virtual PCD" for the first (vpcd's own name), "Virtual PCD <n>" (n = index + 1) after.
   */
  readonly friendlyName: string;
  /** CHANNELID: the TCP port of the entry's first slot. */
  readonly channel: number;
}

/** The vpcd entry `index` (0-based). */
function vpcdEntry(index: number): VpcdEntry {
  checkIndex('vpcd entry', index);
  const friendlyName = index === 0 ? 'Virtual PCD' : `Virtual PCD ${index + 1}`;
  return { index, friendlyName, channel: VPCD_BASE_PORT + SLOTS_PER_ENTRY * index };
}

/** The entries pcscd needs for `cards` cards (one per two cards). */
export function vpcdEntries(cards: number): VpcdEntry[] {
  return Array.from({ length: Math.ceil(readerCount(cards) / SLOTS_PER_ENTRY) }, (_, e) => vpcdEntry(e));
}

/** Readers configured for `cards` cards: whole entries, so an odd number of cards leaves one reader empty. */
export function readerCount(cards: number): number {
  if (!Number.isInteger(cards) || cards < 0) throw new RangeError(`card count: expected an integer >= 0, got ${cards}`);
  return Math.ceil(cards / SLOTS_PER_ENTRY) * SLOTS_PER_ENTRY;
}

/**
 * The PC/SC name of reader `index`, which is also the name of the reader card `index` starts in.
 * @example simReaderName(0) // 'Virtual PCD 00 00'; simReaderName(2) // 'Virtual PCD 2 00 00'
 */
export function simReaderName(index: number): string {
  checkIndex('reader', index);
  return `${vpcdEntry(Math.floor(index / SLOTS_PER_ENTRY)).friendlyName} 00 0${index % SLOTS_PER_ENTRY}`;
}

/** The vpcd TCP port of reader `index`: where a card connects to be in that reader. */
export function simReaderPort(index: number): number {
  checkIndex('reader', index);
  return VPCD_BASE_PORT + index;
}

/** The reader listening on `port`, or null for a port below the first reader's. */
export function readerOfPort(port: number): number | null {
  return Number.isInteger(port) && port >= VPCD_BASE_PORT ? port - VPCD_BASE_PORT : null;
}

/** Three digits bound every index the sim hands out (`--cards` is at most 64; run folders list `card-K`). */
const MAX_INDEX = 999;

function checkIndex(what: string, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
    throw new RangeError(`${what} index: expected an integer 0..${MAX_INDEX}, got ${index}`);
  }
}
