import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JournalLockedError, lockJournal } from '../../../src/flow/lock.js';

let dir: string;
let journal: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twincard-lock-'));
  journal = join(dir, 'backup-journal.json');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The PID of a process that has exited (so certainly not alive now, barring reuse within the test). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('the lock file holds the owner PID and goes away on release', async () => {
  const lock = await lockJournal(journal);
  expect(await readFile(`${journal}.lock`, 'utf8')).toBe(`${process.pid}\n`);
  await lock.release();
  expect(existsSync(`${journal}.lock`)).toBe(false);
  await lock.release(); // twice is harmless
});

test('a live owner (another process) keeps it: a named error', async () => {
  // The parent of this test process is alive and is not us.
  await writeFile(`${journal}.lock`, `${process.ppid}\n`);
  const error = await lockJournal(journal).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(JournalLockedError);
  expect(error).toMatchObject({ pid: process.ppid });
  expect((error as Error).message).toContain(`pid ${process.ppid}`);
  expect(await readFile(`${journal}.lock`, 'utf8')).toBe(`${process.ppid}\n`); // untouched
});

test.each([
  ['a dead owner (the process was killed)', () => `${deadPid()}\n`],
  ['an empty lock file (a crash while taking it)', () => ''],
  ['garbage', () => 'not a pid\n'],
])('%s: taken over', async (_name, content) => {
  await writeFile(`${journal}.lock`, content());
  const lock = await lockJournal(journal);
  expect(await readFile(`${journal}.lock`, 'utf8')).toBe(`${process.pid}\n`);
  await lock.release();
});
