/**
 * The one exit-code classifier (src/cli/errors.ts exitCodeFor) over every error class the library exports
 * (src/apdu, src/readers, src/protocol, src/flow), with and without a journal to resume; and the README's
 * exit-code table, the one place users read them, against src/cli/exit-codes.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as apdu from '../../../src/apdu/index.js';
import { CommandFailure, exitCodeFor, InterruptedError, UsageError } from '../../../src/cli/errors.js';
import { ExitCode, type ExitCodeValue } from '../../../src/cli/exit-codes.js';
import { PinInputError } from '../../../src/cli/pin.js';
import * as backupRunner from '../../../src/flow/backup-runner.js';
import * as cardSource from '../../../src/flow/card-source.js';
import * as journal from '../../../src/flow/journal.js';
import * as lock from '../../../src/flow/lock.js';
import * as backup from '../../../src/protocol/backup.js';
import * as backupModel from '../../../src/protocol/backup-model.js';
import type { CardInfo } from '../../../src/protocol/card.js';
import * as protocolErrors from '../../../src/protocol/errors.js';
import * as readers from '../../../src/readers/index.js';

const { ApduFormatError, ConcurrentExchangeError, ExchangeTimeoutError, ResponseChainError, StatusWordError, TlvError } = apdu;
const { CardWaitTimeoutError, PcscError, ReaderSelectionError } = readers;
const {
  CardRefusedError,
  CardSignatureError,
  CertificateFormatError,
  InvalidPointError,
  KeyFormatError,
  MalformedResponseError,
  PinBlockedError,
  SessionClosedError,
  SessionKeyNotCertifiedError,
  SignatureFormatError,
  UnsupportedVersionError,
  WalletBlobError,
  WrongPinError,
  WrongStateError,
} = protocolErrors;
const { BackupCardError, PinRequiredError, WrongCardError } = backup;

const CARD_ID = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const WALLET_INFO: CardInfo = {
  version: 2,
  state: 'WALLET',
  cardId: CARD_ID,
  pinTriesLeft: 5,
  signCounter: 0,
  backupCount: 0,
  backupCardIds: [],
};
const primary = { kind: 'primary' } as const;

/** [what, an instance, its exit code, its exit code when a journal makes the command resumable]. */
const CASES: ReadonlyArray<readonly [string, Error, ExitCodeValue, ExitCodeValue]> = [
  // src/apdu
  ['StatusWordError', new StatusWordError(0x6a82), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['ApduFormatError', new ApduFormatError('response shorter than SW1 SW2'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['TlvError', new TlvError('length runs past the end', 3), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['ResponseChainError', new ResponseChainError(64, 0x61ff), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['ConcurrentExchangeError', new ConcurrentExchangeError('ApduChannel'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['ExchangeTimeoutError', new ExchangeTimeoutError(30_000), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  // src/readers
  [
    'PcscError service-unavailable',
    new PcscError('establish', 0x8010001d, 'service-unavailable'),
    ExitCode.PCSC_UNAVAILABLE,
    ExitCode.PCSC_UNAVAILABLE,
  ],
  ['PcscError no-readers', new PcscError('list', 0x8010002e, 'no-readers'), ExitCode.NO_READER, ExitCode.NO_READER],
  ['PcscError reader-unavailable', new PcscError('connect', 0x80100009, 'reader-unavailable'), ExitCode.NO_READER, ExitCode.NO_READER],
  ['PcscError card-removed', new PcscError('transmit', 0x80100069, 'card-removed'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['PcscError no-card', new PcscError('connect', 0x8010000c, 'no-card'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['PcscError unpowered', new PcscError('transmit', 0x80100067, 'unpowered'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['PcscError unresponsive', new PcscError('transmit', 0x80100066, 'unresponsive'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  [
    'PcscError transaction-failed',
    new PcscError('transmit', 0x80100016, 'transaction-failed'),
    ExitCode.NO_CARD,
    ExitCode.INTERRUPTED_RESUMABLE,
  ],
  ['PcscError card reset (0x80100068)', new PcscError('transmit', 0x80100068, 'other'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['PcscError timeout', new PcscError('status', 0x8010000a, 'timeout'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['PcscError sharing-violation', new PcscError('connect', 0x8010000b, 'sharing-violation'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['PcscError insufficient-buffer', new PcscError('transmit', 0x80100008, 'insufficient-buffer'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['PcscError cancelled', new PcscError('close', 0x80100002, 'cancelled'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['PcscError other', new PcscError('transmit', 0x80100001, 'other'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['ReaderSelectionError', new ReaderSelectionError('2 readers match', 'ambiguous', ['a', 'b']), ExitCode.NO_READER, ExitCode.NO_READER],
  ['CardWaitTimeoutError', new CardWaitTimeoutError('Virtual PCD 00 00', 10_000), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  // src/protocol/errors.ts
  ['CardRefusedError', new CardRefusedError('SIGN', 0x6982), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['WrongPinError', new WrongPinError('VERIFY_PIN', 0x63c3), ExitCode.WRONG_PIN, ExitCode.WRONG_PIN],
  ['PinBlockedError', new PinBlockedError('VERIFY_PIN', 0x6983), ExitCode.WRONG_PIN, ExitCode.WRONG_PIN],
  ['MalformedResponseError', new MalformedResponseError('READ', 'no state'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['UnsupportedVersionError', new UnsupportedVersionError('SELECT', 1), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['InvalidPointError', new InvalidPointError('wallet key', 'not on the curve'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['SignatureFormatError', new SignatureFormatError('SIGN', 'trailing bytes'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['CertificateFormatError', new CertificateFormatError('truncated'), ExitCode.NOT_GENUINE, ExitCode.NOT_GENUINE],
  ['KeyFormatError', new KeyFormatError('root.pem', 'not a PEM key'), ExitCode.USAGE, ExitCode.USAGE],
  ['WalletBlobError', new WalletBlobError('MAC_INVALID', 'tag does not verify'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['CardSignatureError', new CardSignatureError('SIGN', 'does not verify'), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['WrongStateError', new WrongStateError('sign', 'BLANK', ['WALLET']), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  ['SessionKeyNotCertifiedError', new SessionKeyNotCertifiedError(CARD_ID), ExitCode.NOT_GENUINE, ExitCode.NOT_GENUINE],
  ['SessionClosedError', new SessionClosedError(), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  // src/protocol/backup.ts and backup-model.ts
  ['WrongCardError', new WrongCardError('HAS_WALLET', 'holds a wallet', WALLET_INFO), ExitCode.CARD_REFUSED, ExitCode.CARD_REFUSED],
  [
    'BackupCardError (not genuine)',
    new BackupCardError('SEAL_SIGNATURE_INVALID', 'export-primary', primary, CARD_ID, 1, 'x'),
    ExitCode.NOT_GENUINE,
    ExitCode.NOT_GENUINE,
  ],
  [
    'BackupCardError (refused)',
    new BackupCardError('CARD_DIVERGED', 'export-primary', primary, CARD_ID, 1, 'x'),
    ExitCode.CARD_REFUSED,
    ExitCode.CARD_REFUSED,
  ],
  ['PinRequiredError', new PinRequiredError('no code'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
  ['JournalError', new backupModel.JournalError('version 1'), ExitCode.USAGE, ExitCode.USAGE],
  // src/flow
  [
    'NoMatchingCardError (cards refused)',
    new cardSource.NoMatchingCardError('Tap 1 of 3', ['a'], ['card 01 holds a wallet']),
    ExitCode.CARD_REFUSED,
    ExitCode.CARD_REFUSED,
  ],
  [
    'NoMatchingCardError (no card)',
    new cardSource.NoMatchingCardError('Tap 1 of 3', ['a']),
    ExitCode.NO_CARD,
    ExitCode.INTERRUPTED_RESUMABLE,
  ],
  ['TooManyLostCardsError', new backupRunner.TooManyLostCardsError('lost 51 times'), ExitCode.NO_CARD, ExitCode.INTERRUPTED_RESUMABLE],
  ['JournalLockedError', new lock.JournalLockedError('/tmp/j.json', 42), ExitCode.USAGE, ExitCode.USAGE],
  // src/cli's own
  ['UsageError', new UsageError('bad'), ExitCode.USAGE, ExitCode.USAGE],
  ['PinInputError', new PinInputError('length', 'too short'), ExitCode.USAGE, ExitCode.USAGE],
  ['InterruptedError', new InterruptedError('interrupted (SIGINT)'), ExitCode.INTERRUPTED_RESUMABLE, ExitCode.INTERRUPTED_RESUMABLE],
  ['CommandFailure', new CommandFailure('not genuine', ExitCode.NOT_GENUINE), ExitCode.NOT_GENUINE, ExitCode.NOT_GENUINE],
  ['a plain Error', new Error('bug'), ExitCode.UNEXPECTED, ExitCode.UNEXPECTED],
];

test.each(CASES)('%s -> its exit code; with a journal to resume, "no card" becomes "interrupted"', (_what, error, code, resumableCode) => {
  expect(exitCodeFor(error)).toBe(code);
  expect(exitCodeFor(error, { resumable: true })).toBe(resumableCode);
});

test('something thrown that is not an Error is unexpected', () => {
  expect(exitCodeFor('a string')).toBe(ExitCode.UNEXPECTED);
  expect(exitCodeFor(undefined)).toBe(ExitCode.UNEXPECTED);
});

test('every error class the library exports is in the table above (a new one must be classified on purpose)', () => {
  const modules: Record<string, Record<string, unknown>> = {
    apdu,
    readers,
    protocolErrors,
    backup,
    backupModel,
    backupRunner,
    cardSource,
    journal,
    lock,
  };
  const covered = new Set(CASES.map(([, error]) => error.constructor));
  const missing: string[] = [];
  for (const [module, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      const isErrorClass = typeof value === 'function' && value.prototype instanceof Error;
      if (isErrorClass && !covered.has(value)) missing.push(`${module}.${name}`);
    }
  }
  expect(missing).toEqual([]);
});

test("the README's exit-code table lists exactly the codes of src/cli/exit-codes.ts", () => {
  const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
  const table = /\| exit code \| meaning \|\n\|[-|]+\|\n((?:\| \d+ \|.*\n)+)/.exec(readme);
  expect(table).not.toBeNull();
  const documented = [...(table?.[1] ?? '').matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
  expect(documented).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
});
