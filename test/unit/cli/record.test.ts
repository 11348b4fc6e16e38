/**
 * When `--record` writes its file: after the command however it ended, once a card was reached; never an
 * empty file over an earlier run's when the command failed before any card.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex } from '../../../src/apdu/index.js';
import { CommandRecording, commandRecording, savingRecording } from '../../../src/cli/record.js';
import { splitPresentations } from '../../../src/readers/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twincard-record-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const card = { transmit: async () => fromHex('9000') };
const noWarning = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};

test('a run that fails after reaching a card writes what it did, and its own error is the one thrown', async () => {
  const recording = new CommandRecording(join(dir, 'failed.apdu'), 'backup');
  const work = async () => {
    await recording.session.attach(card, { reader: 'R' }).transmit(fromHex('00A4040000'));
    throw new Error('card went away');
  };
  await expect(savingRecording(recording, noWarning, work)).rejects.toThrow('card went away');
  const text = readFileSync(recording.path, 'utf8');
  expect(text).toMatch(/^# twincard \S+ session transcript \(--record\): backup\n/);
  expect(text.endsWith('# connect 1: R\n=> 00A4040000\n<= 9000\n# disconnect 1\n')).toBe(true);
  expect(splitPresentations(text)).toHaveLength(1);
});

test('a run that fails before any card leaves an earlier file of that name alone', async () => {
  const path = join(dir, 'earlier.apdu');
  writeFileSync(path, '# the first run\n');
  const recording = new CommandRecording(path, 'backup');
  await expect(savingRecording(recording, noWarning, () => Promise.reject(new Error('a backup is in progress')))).rejects.toThrow(
    'in progress',
  );
  expect(readFileSync(path, 'utf8')).toBe('# the first run\n');
});

test('a save that fails after a failure is a warning; after a success it is the error', async () => {
  const path = join(dir, 'no-such-dir', 'f.apdu');
  const warnings: string[] = [];
  const failing = new CommandRecording(path, undefined);
  const work = async () => {
    failing.session.attach(card, { reader: 'R' });
    throw new Error('wrong access code');
  };
  await expect(savingRecording(failing, (line) => warnings.push(line), work)).rejects.toThrow('wrong access code');
  expect(warnings).toEqual([expect.stringContaining(`--record: ${path} not written`)]);
  await expect(savingRecording(new CommandRecording(path, undefined), noWarning, async () => 1)).rejects.toThrow(/ENOENT/);
  expect(existsSync(path)).toBe(false);
});

test('one recording per file for the process: a command opening several cards adds each to the same file', () => {
  const first = commandRecording(join(dir, 'same.apdu'), 'change-code');
  expect(commandRecording(join(dir, '.', 'same.apdu'))).toBe(first);
  expect(commandRecording(join(dir, 'other.apdu'))).not.toBe(first);
  expect(commandRecording(undefined)).toBeUndefined();
});
