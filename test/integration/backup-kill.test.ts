/**
 * The kill matrix: `twincard backup` as a user runs it (the built CLI, a child process, bench mode over
 * three readers) killed with SIGKILL right after EVERY journal save point of a 1+2 v2 backup (each step's,
 * and the checkpoints inside steps: a card claimed before BACKUP_PREPARE, each blob after its
 * BACKUP_EXPORT; the CLI's TWINCARD_TEST_CRASH_AFTER_STEP hook), then `twincard backup --resume` finishes
 * the backup. Also the exits a person sees: Ctrl-C while waiting for a card (9, resumable), and the
 * journal's guard rails.
 */
import { jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import { loadJournal } from '../../src/flow/journal.js';
import { completedSteps, isSealed, nextStep } from '../../src/protocol/backup-model.js';
import { PcscService } from '../../src/readers/index.js';
import { expectBackedUp, freshCards, insertCard, PIN, readCard } from './support/backup-cards.js';
import { readerForCard, repoRoot } from './support/sim.js';

jest.setTimeout(30_000);

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const PIN_ENV = { TWINCARD_TEST_BACKUP_PIN: new TextDecoder().decode(PIN) };

function twincard(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, TWINCARD_TRACE: '', TWINCARD_PIN: '', ...PIN_ENV, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

const benchArgs = (journal: string) => [
  'backup',
  // Backup cards first, the order a v2 backup takes them: no card is read for a step it cannot serve.
  ...[1, 2, 0].flatMap((k) => ['--reader', readerForCard(k)]),
  '--trust-test-root',
  '--pin-env',
  'TWINCARD_TEST_BACKUP_PIN',
  '--journal',
  journal,
];

let service: PcscService;
let dir: string;

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  for (const k of [0, 1, 2]) {
    if (service.readers().find((r) => r.name === readerForCard(k))?.cardPresent !== true) await insertCard(service, k);
  }
  dir = await mkdtemp(join(tmpdir(), 'twincard-kill-'));
});

afterAll(async () => {
  service.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every save point (the hook's names), with the steps completed in the journal the kill leaves behind. */
const KILL_POINTS = [
  ['prepare-backup-1:claimed', 0], // card 1 claimed, BACKUP_PREPARE not sent yet
  ['prepare-backup-1', 1],
  ['prepare-backup-2:claimed', 1],
  ['prepare-backup-2', 2],
  ['export-primary:exported-1', 2], // one blob saved, the primary counts card 1
  ['export-primary:exported-2', 2], // both blobs saved, BACKUP_FINALIZE not sent yet
  ['export-primary', 3],
  ['import-1', 4],
  ['import-2', 5],
] as const;

test.each(KILL_POINTS)('killed right after %s: --resume completes the backup', async (point, completed) => {
  const wallet = await freshCards(service, [0, 1, 2], 0);
  const journal = join(dir, `${point.replace(':', '-')}.json`);
  const killed = twincard([...benchArgs(journal), '--backups', '2'], { TWINCARD_TEST_CRASH_AFTER_STEP: point });
  expect({ signal: killed.signal, code: killed.code, stderr: killed.stderr }).toMatchObject({ signal: 'SIGKILL', code: null });
  expect(killed.stdout).toBe('');
  expect(existsSync(`${journal}.lock`)).toBe(true); // SIGKILL: nobody released it
  const left = await loadJournal(journal);
  expect(left).toBeDefined();
  expect(completedSteps(left!)).toBe(completed);
  if (point.endsWith(':claimed')) expect(left!.backups.map((b) => b.stage).at(-1)).toBe('claimed');
  if (point.startsWith('export-primary:exported-')) {
    expect(left!.backups.filter(isSealed)).toHaveLength(Number(point.at(-1)));
    expect(left!.primary?.stage).toBe('exporting');
    // The primary already counts what the journal holds a blob for, and nothing else.
    expect((await readCard(service, 0)).backupCardIds.map(toHex)).toEqual(left!.backups.filter(isSealed).map((b) => toHex(b.cardId)));
  }
  if (point === 'import-2') expect(nextStep(left!)).toEqual({ kind: 'done' });
  // No secret in what the crash left: the PIN appears neither as text nor as hex.
  const text = JSON.stringify(left, (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
  expect(text).not.toContain(toHex(PIN));

  const resumed = twincard([...benchArgs(journal), '--resume', '--json']);
  expect({ code: resumed.code, stderr: resumed.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('backup complete') });
  const doc = JSON.parse(resumed.stdout) as { walletPublicKey: string; backups: string[] };
  expect(doc.walletPublicKey).toBe(toHex(wallet));
  expect(doc.backups).toHaveLength(2);
  expect(existsSync(journal)).toBe(false); // a finished backup leaves no journal behind
  expect(existsSync(`${journal}.lock`)).toBe(false); // the killed process's stale lock was taken over, then released
  await expectBackedUp(service, 0, [1, 2], wallet);
});

test('Ctrl-C while waiting for a card: exit 9, the journal kept; --resume on a bench finishes', async () => {
  const wallet = await freshCards(service, [0, 1, 2], 0);
  const journal = join(dir, 'interrupted.json');
  // One reader (tap mode) holding the primary: refused as backup card 1, then the CLI waits for a tap.
  const child = spawn(
    process.execPath,
    [
      CLI,
      'backup',
      '--reader',
      readerForCard(0),
      '--trust-test-root',
      '--pin-env',
      'TWINCARD_TEST_BACKUP_PIN',
      '--journal',
      journal,
      '--backups',
      '2',
    ],
    { env: { ...process.env, TWINCARD_TRACE: '', ...PIN_ENV } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  const refused = new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('Tap 1 of 5: backup card 1 of 2 (a blank card) (again)')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await refused;
  // While it waits it holds the journal: a second process on the same journal is turned away.
  const meanwhile = twincard([...benchArgs(journal), '--resume']);
  expect(meanwhile.code).toBe(2);
  expect(meanwhile.stderr).toContain(`another twincard backup (pid ${String(child.pid)}) is using`);
  child.kill('SIGINT');
  expect(await exited).toBe(9);
  expect(stderr).toContain('refused: ');
  expect(stderr).toContain('holds a wallet (WALLET)');
  expect(stderr).toContain('twincard backup --resume');
  expect(existsSync(journal)).toBe(true);

  // The guard rails: a second backup does not overwrite the journal; --resume cannot change the count.
  const again = twincard([...benchArgs(journal), '--backups', '2']);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain('a backup is in progress');
  const otherCount = twincard([...benchArgs(journal), '--resume', '--backups', '1']);
  expect(otherCount.code).toBe(2);
  expect(otherCount.stderr).toContain('is to 2 card(s), not 1');

  // Resumed with the APDU trace on: the access code and the wallet blobs never reach it.
  const resumed = twincard([...benchArgs(journal), '--resume', '--trace']);
  expect(resumed.code).toBe(0);
  // VERIFY_PIN travels wrapped in the card session (protocol.md 1.4): ciphertext, shown and marked.
  expect(resumed.stderr).toMatch(/>> 84200000 [0-9A-F]{2} \[wrapped\] [0-9A-F]+\n/);
  // BACKUP_IMPORT's data (the blob with it) in both chained blocks; BACKUP_EXPORT's answer and its GET RESPONSE.
  expect(resumed.stderr).toMatch(/>> 90660000 FF \[redacted 255 bytes\]\n/);
  expect(resumed.stderr).toMatch(/>> 80660000 [0-9A-F]{2} \[redacted \d+ bytes\] 00\n/);
  expect(resumed.stderr).toMatch(/<< \[redacted 256 bytes\] 61[0-9A-F]{2} /);
  expect(resumed.stderr).not.toContain(toHex(PIN));
  expect(resumed.stderr).not.toMatch(/1581C102/); // no blob TLV, either way
  await expectBackedUp(service, 0, [1, 2], wallet);
  const nothing = twincard([...benchArgs(join(dir, 'none.json')), '--resume']);
  expect(nothing.code).toBe(2);
  expect(nothing.stderr).toContain('there is no backup to resume');

  // A second backup of the finished primary: every card refused, with why; nothing changed, no journal left.
  const second = join(dir, 'second.json');
  const secondRun = twincard([...benchArgs(second), '--backups', '1']);
  expect(secondRun.code).toBe(8);
  expect(secondRun.stderr).toMatch(/none of the cards in .* is the card wanted/);
  expect(secondRun.stderr).toContain('belongs to a finished backup (BACKED_UP)');
  expect(secondRun.stderr).toContain('nothing was changed on any card; no journal kept');
  expect(existsSync(second)).toBe(false);
  for (const k of [0, 1, 2]) {
    const info = await readCard(service, k);
    // As expectBackedUp left them: one signature each, the primary backed up to two cards.
    expect({ state: info.state, signCounter: info.signCounter, pinTriesLeft: info.pinTriesLeft }).toEqual({
      state: 'BACKED_UP',
      signCounter: 1,
      pinTriesLeft: 5,
    });
    if (k === 0) expect(info.backupCount).toBe(2);
  }
});
