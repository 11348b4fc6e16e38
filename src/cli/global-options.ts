/** Options every command takes (declared in main.ts). */
import { subscribe, type LogEntry } from '../log.js';

export interface GlobalOptions {
  readonly reader: string | undefined;
  readonly json: boolean;
  readonly trace: boolean | undefined;
  readonly debug: boolean;
  /** Seconds to wait for a card to be presented. */
  readonly wait: number;
  /** Save the card session as a redacted transcript in this file (`--record FILE`). */
  readonly record: string | undefined;
  /**
   * Seconds one exchange with the card may take before the command gives up (`--exchange-timeout`; yargs
   * fills the camel-case key at run time, its types only know the dashed one, hence optional).
   */
  readonly exchangeTimeout?: number | undefined;
  /** Library log topics (PC/SC events, reader errors) on stderr (`--verbose`). */
  readonly verbose: boolean;
}

/**
 * With `--verbose`, prints the library's topic log on stderr (`# pcsc: card-inserted: Virtual PCD 00 00`);
 * library code never prints itself.
 * @returns a function that stops printing
 */
export function printLibraryLog(verbose: boolean, write: (line: string) => void): () => void {
  if (!verbose) return () => undefined;
  return subscribe((entry: LogEntry) => write(`# ${entry.topic}: ${entry.message}`));
}

/** `--exchange-timeout` in ms, or undefined for the library's default. */
export function exchangeTimeoutMs(argv: GlobalOptions): number | undefined {
  return argv.exchangeTimeout === undefined ? undefined : Math.round(argv.exchangeTimeout * 1000);
}
