import { mkdtemp, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src/flow/atomic-file.js';

describe('writeFileAtomic', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twincard-atomic-'));
  });
  afterEach(async () => {
    await chmod(dir, 0o700).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  test('replaces the content and leaves no temporary file behind', async () => {
    const target = join(dir, 'journal.json');
    await writeFile(target, 'old');
    await writeFileAtomic(target, 'new content');
    expect(await readFile(target, 'utf8')).toBe('new content');
    expect(await readdir(dir)).toEqual(['journal.json']);
  });

  test('creates the file with mode 0600 by default', async () => {
    const target = join(dir, 'fresh.json');
    await writeFileAtomic(target, new Uint8Array([1, 2, 3]));
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(new Uint8Array(await readFile(target))).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('a failed write leaves the old content and no temporary file', async () => {
    const target = join(dir, 'sub', 'journal.json');
    // The directory does not exist: the temporary file cannot be created, the target is untouched.
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  test('a failed rename removes the temporary file and keeps the old content', async () => {
    const target = join(dir, 'journal.json');
    await writeFile(target, 'old');
    // A directory where the file should be: rename(2) over it fails with EISDIR.
    const blocked = join(dir, 'blocked');
    await import('node:fs/promises').then((fs) => fs.mkdir(blocked));
    await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect((await readdir(dir)).sort()).toEqual(['blocked', 'journal.json']);
    expect(await readFile(target, 'utf8')).toBe('old');
  });
});
