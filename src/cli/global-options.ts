/** Options every command takes (declared in main.ts). */
import { subscribe, type LogEntry } from '../log.js';
import { UsageError } from './errors.js';

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

/**
 * `--exchange-timeout` in ms, or undefined for the library's default.
 * @throws UsageError for anything but a number of seconds from 0.001 to 86400
 */
export function exchangeTimeoutMs(argv: Pick<GlobalOptions, 'exchangeTimeout'>): number | undefined {
  const seconds = argv.exchangeTimeout;
  if (seconds === undefined) return undefined;
  if (!Number.isFinite(seconds) || seconds < 0.001 || seconds > 86_400) {
    throw new UsageError(`--exchange-timeout: expected seconds from 0.001 to 86400, got ${String(seconds)}`);
  }
  return Math.round(seconds * 1000);
}

/**
 * The commands that talk to a card, where `--record` is applied (src/cli/record.ts): every card and every
 * tap of the run in one file. Not here, so refused: `readers` and `sim` (no APDU reaches a card: nothing to
 * record), `bench` (it measures exchanges, and the recorder would be part of what it measures; its cards
 * are virtual: a transcript helps no bug report).
 */
const RECORDING_COMMANDS: ReadonlySet<string> = new Set([
  'info',
  'attest',
  'create-wallet',
  'sign',
  'change-code',
  'reset',
  'personalize',
  'cancel-backup',
  'apdu',
  'backup',
  'conformance',
  'doctor',
]);

/**
 * `--record` on a command that cannot honour it (no card) is refused rather than ignored: a user who asked
 * for a transcript must not find out later there is none.
 * @throws UsageError
 */
export function checkRecordSupported(command: string | number | undefined, record: unknown): void {
  if (record === undefined) return;
  if (typeof record !== 'string' || record === '') throw new UsageError('--record needs a file name');
  if (!RECORDING_COMMANDS.has(String(command))) {
    throw new UsageError(
      `--record is for the commands that talk to a card (${[...RECORDING_COMMANDS].join(', ')}), not ${String(command)}`,
    );
  }
}
