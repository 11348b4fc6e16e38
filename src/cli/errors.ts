/**
 * One place that turns any error into what the user sees (one line, no stack unless --debug) and the
 * documented exit code.
 */
import { ApduFormatError, StatusWordError } from '../apdu/index.js';
import { PcscError, ReaderSelectionError, CardWaitTimeoutError } from '../readers/index.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof UsageError) return ExitCode.USAGE;
  if (error instanceof ReaderSelectionError) return ExitCode.NO_READER;
  if (error instanceof CardWaitTimeoutError) return ExitCode.NO_CARD;
  if (error instanceof PcscError) {
    switch (error.kind) {
      case 'service-unavailable':
        return ExitCode.PCSC_UNAVAILABLE;
      case 'no-readers':
      case 'reader-unavailable':
        return ExitCode.NO_READER;
      case 'card-removed':
      case 'no-card':
      case 'unpowered':
      case 'unresponsive':
      case 'transaction-failed':
      case 'timeout':
        return ExitCode.NO_CARD;
      default:
        return ExitCode.UNEXPECTED;
    }
  }
  if (error instanceof StatusWordError) return ExitCode.CARD_REFUSED;
  if (error instanceof ApduFormatError) return ExitCode.CARD_REFUSED;
  return ExitCode.UNEXPECTED;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name === 'Error' ? 'Error' : error.name}: ${error.message}`;
  return `Error: ${String(error)}`;
}
