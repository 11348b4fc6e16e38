/**
 * The global options this branch adds: --record is refused where it cannot be honoured, --exchange-timeout is
 * checked, --verbose prints the library log.
 */
import { UsageError } from '../../../src/cli/errors.js';
import { checkRecordSupported, exchangeTimeoutMs, printLibraryLog, type GlobalOptions } from '../../../src/cli/global-options.js';
import { log } from '../../../src/log.js';

const base: GlobalOptions = { reader: undefined, json: false, trace: undefined, debug: false, wait: 10, record: undefined, verbose: false };

test('--record is accepted on every command that talks to a card and refused elsewhere, never ignored', () => {
  const cardCommands = ['info', 'attest', 'create-wallet', 'sign', 'change-code', 'reset', 'personalize', 'cancel-backup', 'apdu'];
  for (const command of [...cardCommands, 'backup', 'conformance', 'doctor']) {
    expect(() => checkRecordSupported(command, 'f.apdu')).not.toThrow();
  }
  // no APDU reaches a card (readers, sim), or the recorder would be part of what is measured (bench)
  for (const command of ['readers', 'sim', 'bench', undefined]) {
    expect(() => checkRecordSupported(command, 'f.apdu')).toThrow(UsageError);
  }
  expect(() => checkRecordSupported('info', '')).toThrow('--record needs a file name');
  expect(() => checkRecordSupported('readers', undefined)).not.toThrow();
});

test('--exchange-timeout: seconds to ms, nonsense refused as a usage error', () => {
  expect(exchangeTimeoutMs(base)).toBeUndefined();
  expect(exchangeTimeoutMs({ ...base, exchangeTimeout: 2.5 })).toBe(2500);
  for (const bad of [0, -1, Number.NaN, 100_000]) {
    expect(() => exchangeTimeoutMs({ ...base, exchangeTimeout: bad })).toThrow(UsageError);
  }
});

test('--verbose prints library log entries until stopped; without it nothing is subscribed', () => {
  const lines: string[] = [];
  const stop = printLibraryLog(true, (line) => lines.push(line));
  log('pcsc', 'card-inserted: Virtual PCD 00 00');
  stop();
  log('pcsc', 'after stop');
  printLibraryLog(false, (line) => lines.push(line))();
  log('pcsc', 'not verbose');
  expect(lines).toEqual(['# pcsc: card-inserted: Virtual PCD 00 00']);
});
