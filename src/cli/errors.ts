/**
 * One place that turns any error into what the user sees (one line, no stack unless --debug) and the
 * documented exit code.
 */
import { ApduFormatError, ExchangeTimeoutError, formatSw, ResponseChainError, StatusWordError, TlvError } from '../apdu/index.js';
import { isCardLost, TooManyLostCardsError } from '../flow/backup-runner.js';
import { NoMatchingCardError } from '../flow/card-source.js';
import { JournalLockedError } from '../flow/lock.js';
import { BackupCardError, NOT_GENUINE_FAULTS, WrongCardError } from '../protocol/backup.js';
import { JournalError } from '../protocol/backup-model.js';
import {
  CardSignatureError,
  CertificateFormatError,
  InvalidPointError,
  KeyFormatError,
  MalformedResponseError,
  PinBlockedError,
  SessionKeyNotCertifiedError,
  SignatureFormatError,
  WalletBlobError,
  WrongPinError,
  WrongStateError,
} from '../protocol/errors.js';
import { CardWaitTimeoutError, PcscError, ReaderSelectionError, type PcscErrorKind } from '../readers/index.js';
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
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Ctrl-C or SIGTERM while a command with a journal ran (the backup): what it did so far is kept. */
export class InterruptedError extends Error {
  override readonly name = 'Interrupted';
}

export interface ExitCodeContext {
  /**
   * The command keeps its progress in a journal (the backup): a card that went away, none presented in
   * time, or a stuck reader is an interruption that `--resume` continues (9), not a failure (5).
   */
  readonly resumable?: boolean;
}

/**
 * The one classifier: any error -> the exit code of the README's table. Every command ends here (main.ts);
 * the backup asks with `resumable`. Subclasses come before their parents (WrongPinError is a
 * StatusWordError, UnsupportedVersionError a MalformedResponseError).
 */
export function exitCodeFor(error: unknown, context: ExitCodeContext = {}): ExitCodeValue {
  const code = baseExitCode(error);
  return context.resumable === true && code === ExitCode.NO_CARD ? ExitCode.INTERRUPTED_RESUMABLE : code;
}

function baseExitCode(error: unknown): ExitCodeValue {
  if (error instanceof CommandFailure) return error.exitCode;
  if (error instanceof InterruptedError) return ExitCode.INTERRUPTED_RESUMABLE;
  // The user's input: the command line, an access code, a PEM file, a journal that cannot be used or is in use.
  if (error instanceof UsageError || error instanceof PinInputError || error instanceof KeyFormatError) return ExitCode.USAGE;
  if (error instanceof JournalError || error instanceof JournalLockedError) return ExitCode.USAGE;
  if (error instanceof WrongPinError || error instanceof PinBlockedError) return ExitCode.WRONG_PIN;
  // Not genuine: a card that cannot prove it was certified by a trusted root, or speaks in a session it cannot sign for.
  if (error instanceof SessionKeyNotCertifiedError || error instanceof CertificateFormatError) return ExitCode.NOT_GENUINE;
  if (error instanceof BackupCardError) return NOT_GENUINE_FAULTS.has(error.fault) ? ExitCode.NOT_GENUINE : ExitCode.CARD_REFUSED;
  // The card said no, or its answer broke the protocol, or it is not the card the step needs.
  if (
    error instanceof StatusWordError ||
    error instanceof MalformedResponseError ||
    error instanceof CardSignatureError ||
    error instanceof InvalidPointError ||
    error instanceof SignatureFormatError ||
    error instanceof WalletBlobError ||
    error instanceof WrongStateError ||
    error instanceof WrongCardError ||
    error instanceof ApduFormatError ||
    error instanceof TlvError ||
    error instanceof ResponseChainError
  ) {
    return ExitCode.CARD_REFUSED;
  }
  // Every card present was refused (bench mode): the message says what each one was.
  if (error instanceof NoMatchingCardError) return error.refusals.length > 0 ? ExitCode.CARD_REFUSED : ExitCode.NO_CARD;
  if (error instanceof ReaderSelectionError) return ExitCode.NO_READER;
  if (error instanceof CardWaitTimeoutError || error instanceof ExchangeTimeoutError || error instanceof TooManyLostCardsError)
    return ExitCode.NO_CARD;
  if (error instanceof PcscError) return pcscExitCode(error);
  // ConcurrentExchangeError, SessionClosedError, PinRequiredError and anything else: a bug, said as it is.
  return ExitCode.UNEXPECTED;
}

function pcscExitCode(error: PcscError): ExitCodeValue {
  const kind: PcscErrorKind = error.kind; // read first: isCardLost's type guard narrows error to never below
  // The card went away or was reset under us (the same set the backup runner retries on).
  if (isCardLost(error)) return ExitCode.NO_CARD;
  switch (kind) {
    case 'service-unavailable':
      return ExitCode.PCSC_UNAVAILABLE;
    case 'no-readers':
    case 'reader-unavailable':
      return ExitCode.NO_READER;
    case 'timeout':
      return ExitCode.NO_CARD;
    default:
      return ExitCode.UNEXPECTED;
  }
}

export function describeError(error: unknown): string {
  // The access-code words get a sentence of their own: a person must see at once how many tries are left.
  if (error instanceof WrongPinError) {
    const n = error.triesLeft;
    return (
      `WrongPinError: wrong access code: ${n} ${n === 1 ? 'try' : 'tries'} left before the card blocks it ` +
      `(${error.command} SW=0x${formatSw(error.sw)})`
    );
  }
  if (error instanceof PinBlockedError) {
    return (
      'PinBlockedError: the access code is blocked: the card refuses every code, the right one too, ' +
      `and no command needing it will work again (${error.command} SW=0x${formatSw(error.sw)})`
    );
  }
  if (error instanceof CommandFailure) return error.message;
  if (error instanceof Error) return `${error.name === 'Error' ? 'Error' : error.name}: ${error.message}`;
  return `Error: ${String(error)}`;
}
