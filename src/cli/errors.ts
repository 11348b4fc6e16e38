/**
 * One place that turns any error into what the user sees (one line, no stack unless --debug) and the
 * documented exit code.
 */
import { ApduFormatError, StatusWordError } from '../apdu/index.js';
import { PcscError, ReaderSelectionError, CardWaitTimeoutError } from '../readers/index.js';
import {
  SessionKeyNotCertifiedError,
  MalformedResponseError,
  PinBlockedError,
  WrongPinError,
  WrongStateError,
} from '../protocol/errors.js';
import { ExitCode, type ExitCodeValue } from './exit-codes.js';
import { PinInputError } from './pin.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A failure a command has already explained to the user (e.g. "not genuine" after the verdict), carrying
 * the exit code it means.
 */
export class CommandFailure extends Error {
  override readonly name = 'CommandFailure';
  constructor(message: string, readonly exitCode: ExitCodeValue) {
    super(message);
  }
}

export function exitCodeFor(error: unknown): ExitCodeValue {
  if (error instanceof CommandFailure) return error.exitCode;
  if (error instanceof UsageError || error instanceof PinInputError) return ExitCode.USAGE;
  // Before StatusWordError: these are status words too, with an exit code of their own.
  if (error instanceof WrongPinError || error instanceof PinBlockedError) return ExitCode.WRONG_PIN;
  if (error instanceof WrongStateError || error instanceof MalformedResponseError) return ExitCode.CARD_REFUSED;
  if (error instanceof SessionKeyNotCertifiedError) return ExitCode.NOT_GENUINE;
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
  // The access-code words get a sentence of their own: a person must see at once how many tries are left.
  if (error instanceof WrongPinError) {
    const n = error.triesLeft;
    return `WrongPinError: wrong access code: ${n} ${n === 1 ? 'try' : 'tries'} left before ` +
      `the card blocks it (${error.command} SW=0x${error.sw.toString(16).toUpperCase()})`;
  }
  if (error instanceof PinBlockedError) {
    return `PinBlockedError: the access code is blocked: the card refuses every code, the right one too, and no ` +
      `command needing it will work again (${error.command} SW=0x${error.sw.toString(16).toUpperCase()})`;
  }
  if (error instanceof CommandFailure) return error.message;
  if (error instanceof Error) return `${error.name === 'Error' ? 'Error' : error.name}: ${error.message}`;
  return `Error: ${String(error)}`;
}
