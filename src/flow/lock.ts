/**
 * One backup per journal at a time. Two `twincard backup --resume` on the same journal would each run
 * steps from the same starting point and overwrite each other's saves; the cards would stay consistent
 * (every step is idempotent) but the journal would not. A lock file next to the journal holds the owner's
 * PID; a lock whose process is gone (a crash, SIGKILL) is stale and taken over, since a dead process can
 * no longer write the journal.
 *
 * Two races are closed here. A lock is never seen half-made: the PID is written and synced in a draft
 * file, and the draft is hard-linked to the lock's name (link(2) fails if the name exists, like O_EXCL).
 * A stale lock is removed by one taker only: removing it needs a claim file named after that lock file's
 * identity (inode and modification time in nanoseconds), created with O_EXCL, and the claimant looks again
 * before it unlinks. Without the claim, two processes judging the same lock stale could each remove it, and
 * the slower one would remove the lock the faster one had just made.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { link, open, stat, unlink } from 'node:fs/promises';

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

const ATTEMPTS = 10;
/** A claim is held for the microseconds of one unlink: an older one was left by a crash. */
const CLAIM_STALE_MS = 5000;

/**
 * Takes the lock for `journalPath` (`<journalPath>.lock`).
 * @throws JournalLockedError when a live process holds it
 */
export async function lockJournal(journalPath: string, pid: number = process.pid): Promise<JournalLock> {
  const lockPath = `${journalPath}.lock`;
  const draft = privateName(lockPath, 'draft');
  await writeSynced(draft, `${pid}\n`);
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (await createExclusive(draft, lockPath, pid)) {
        const mine = await inspect(lockPath);
        if (mine === undefined) throw new Error(`${lockPath}: the lock vanished as it was taken`);
        return heldLock(lockPath, mine.identity);
      }
      const found = await inspect(lockPath);
      if (found === undefined) continue; // released between our attempt and our look: try again
      if (found.owner !== undefined && found.owner !== pid && isAlive(found.owner)) {
        throw new JournalLockedError(journalPath, found.owner);
      }
      // Stale (its process is gone) or not a lock this code writes (no PID): remove that file, and only it.
      await takeOver(lockPath, found.identity);
    }
  } finally {
    await unlink(draft).catch(() => undefined);
  }
  throw new Error(`${lockPath}: could not take the lock (it keeps reappearing)`);
}

/** @returns false when the lock's name is taken */
async function createExclusive(draft: string, lockPath: string, pid: number): Promise<boolean> {
  try {
    await link(draft, lockPath);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
  }
  // A file system without hard links (FAT on a USB stick): O_EXCL, and a reader may briefly see it empty.
  try {
    const handle = await open(lockPath, 'wx', 0o600);
    try {
      await handle.writeFile(`${pid}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function heldLock(lockPath: string, identity: string): JournalLock {
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      // Never remove a lock that is not ours any more (taken over after this process was thought dead).
      if ((await inspect(lockPath).catch(() => undefined))?.identity === identity) await unlink(lockPath).catch(() => undefined);
    },
  };
}

interface FoundLock {
  /** which file this is: the same name may later hold another lock */
  readonly identity: string;
  /** undefined: the file holds no PID */
  readonly owner: number | undefined;
}

/** The lock file's identity and owner, read through one open file so that both describe the same file. */
async function inspect(lockPath: string): Promise<FoundLock | undefined> {
  let handle;
  try {
    handle = await open(lockPath, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { ino, mtimeNs } = await handle.stat({ bigint: true });
    const text = (await handle.readFile('utf8')).trim();
    return { identity: `${ino}.${mtimeNs}`, owner: /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : undefined };
  } finally {
    await handle.close();
  }
}

/** Removes the lock file `identity` if this call wins the claim to do so and it is still there. */
async function takeOver(lockPath: string, identity: string): Promise<void> {
  const claim = `${lockPath}.takeover.${identity}`;
  try {
    await writeSynced(claim, `${process.pid}\n`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Another taker is removing it: give it a moment (or clear a claim a crash left) and look again.
    const age = await stat(claim).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > CLAIM_STALE_MS) await unlink(claim).catch(() => undefined);
    else await new Promise((resolve) => setTimeout(resolve, 10));
    return;
  }
  try {
    if ((await inspect(lockPath))?.identity === identity) await unlink(lockPath).catch(() => undefined);
  } finally {
    await unlink(claim).catch(() => undefined);
  }
}

async function writeSynced(path: string, content: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A name in the lock's directory that no other process or call uses. */
function privateName(lockPath: string, purpose: string): string {
  return `${lockPath}.${purpose}.${process.pid}.${randomBytes(6).toString('hex')}`;
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
