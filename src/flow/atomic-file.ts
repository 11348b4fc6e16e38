/**
 * Crash-safe replacement of a small file: a reader sees the old content or the new one, never a torn mix,
 * and after this resolves the new content survives power loss (POSIX: write a temporary file in the same
 * directory, fsync it, rename over the target, fsync the directory so the rename itself is durable).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file; journals hold no secret but are nobody else's business: 0600 by default. */
  readonly mode?: number;
}

export async function writeFileAtomic(path: string, content: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const directory = dirname(path);
  // Same directory as the target: rename(2) is only atomic within one file system.
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', options.mode ?? 0o600);
  try {
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
