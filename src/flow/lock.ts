/**
 * One backup per journal at a time. Two `twincard backup --resume` on the same journal would each run
 * steps from the same starting point and overwrite each other's saves; the cards would stay consistent
 * (every step is idempotent) but the journal would not. A lock file next to the journal, holding the
 * owner's PID, is taken with O_EXCL; a lock whose process is gone (a crash, SIGKILL) is stale and taken
 * over, since a dead process can no longer write the journal.
 * @module
 */
import { open, readFile, unlink } from 'node:fs/promises';

/** Another live process holds the lock. */
export class JournalLockedError extends Error {
  override readonly name = 'JournalLockedError';
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another twincard backup (pid ${pid}) is using ${path}; wait for it to finish or stop it`);
  }
}

export interface JournalLock {
  release(): Promise<void>;
}

/**
 * Takes the lock for `journalPath` (`<journalPath>.lock`).
 * @throws JournalLockedError when a live process holds it
 */
export async function lockJournal(journalPath: string, pid: number = process.pid): Promise<JournalLock> {
  const lockPath = `${journalPath}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(`${pid}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await unlink(lockPath).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = await readOwner(lockPath);
    if (owner === undefined) {
      // Created a moment ago and its PID not written yet, or left empty by a crash: look once more.
      await new Promise((resolve) => setTimeout(resolve, 100));
      owner = await readOwner(lockPath);
    }
    if (owner !== undefined && owner !== pid && isAlive(owner)) throw new JournalLockedError(journalPath, owner);
    // Stale (its process is gone) or unreadable: remove it and try again.
    await unlink(lockPath).catch(() => undefined);
  }
  throw new Error(`${lockPath}: could not take the lock (it keeps reappearing)`);
}

async function readOwner(lockPath: string): Promise<number | undefined> {
  try {
    const text = (await readFile(lockPath, 'utf8')).trim();
    return /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else: alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
