import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

describe('several processes finding one stale lock at the same moment', () => {
  // Live PIDs that are not this process: sleeping children, so each taker is a distinct live owner.
  const sleepers: ChildProcess[] = [];
  beforeAll(() => {
    for (let i = 0; i < 6; i++) sleepers.push(spawn('sleep', ['60'], { stdio: 'ignore' }));
  });
  afterAll(() => {
    for (const child of sleepers) child.kill();
  });

  test('exactly one takes it over, the others are told who holds it (50 races)', async () => {
    const pids = sleepers.map((child) => child.pid!);
    for (let round = 0; round < 50; round++) {
      await writeFile(`${journal}.lock`, `${deadPid()}\n`);
      const results = await Promise.allSettled(pids.map((pid) => lockJournal(journal, pid)));
      const winners = pids.filter((_pid, i) => results[i]!.status === 'fulfilled');
      expect({ round, winners: winners.length }).toEqual({ round, winners: 1 });
      const holder = Number((await readFile(`${journal}.lock`, 'utf8')).trim());
      expect(holder).toBe(winners[0]);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ name: 'JournalLockedError', pid: holder });
      }
      await (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
      expect(existsSync(`${journal}.lock`)).toBe(false);
      expect(await readdir(dir)).toEqual([]); // no drafts or moved stale locks left behind
    }
  }, 60_000);
});

test('release leaves alone a lock that another process has taken over since', async () => {
  const lock = await lockJournal(journal);
  await rm(`${journal}.lock`);
  await writeFile(`${journal}.lock`, `${process.ppid}\n`);
  await lock.release();
  expect(await readFile(`${journal}.lock`, 'utf8')).toBe(`${process.ppid}\n`);
});
