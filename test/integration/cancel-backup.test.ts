/**
 * BACKUP_CANCEL and `twincard cancel-backup` through pcscd (they replace v1's BACKUP_ABORT and
 * abort-backup). Only a backup card has something to cancel: BACKUP_PENDING -> BLANK with its ephemeral
 * key gone, so a blob sealed to it is dead. A primary keeps nothing before its first export and undoes
 * nothing after it, so the CLI explains instead. Cards: 0 = primary, 1 and 2 = backup cards, 3 = a spare.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { formatSw, toHex } from '../../src/apdu/index.js';
import { runBackup } from '../../src/flow/backup-runner.js';
import { NoMatchingCardError, PcscCardSource } from '../../src/flow/card-source.js';
import { loadJournal, saveJournal } from '../../src/flow/journal.js';
import { runStep } from '../../src/protocol/backup.js';
import { newJournal, type BackupJournal } from '../../src/protocol/backup-model.js';
import { CardRefusedError } from '../../src/protocol/errors.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService } from '../../src/readers/index.js';
import { freshCards, PIN, readCard, withCard } from './support/backup-cards.js';
import { readerForCard, repoRoot } from './support/sim.js';

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const roots = trustedRoots({ trustTestRoot: true });
let service: PcscService;
const dir = mkdtempSync(join(tmpdir(), 'twincard-cancel-'));

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
});
afterAll(() => {
  service.close();
});

function cancel(k: number, journal: string, ...extra: string[]) {
  const run = spawnSync(process.execPath, [cli, 'cancel-backup', '--reader', readerForCard(k), '--journal', journal, ...extra], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_TRACE: '', TWINCARD_PIN: '' },
    timeout: 20_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs the journal's steps on card k, one per call, saving as the runner does. */
async function step(journal: BackupJournal, path: string, k: number): Promise<BackupJournal> {
  return withCard(service, k, async (card) => {
    const { journal: next } = await runStep(journal, card, { roots, pin: PIN, checkpoint: (j) => saveJournal(path, j) });
    await saveJournal(path, next);
    return next;
  });
}

const swOf = async (act: () => Promise<unknown>): Promise<string> => {
  const e = await act().then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(CardRefusedError);
  return formatSw((e as CardRefusedError).sw);
};

test('BACKUP_CANCEL: a blob sealed to the cancelled EB can never be imported, and the primary still counts the card', async () => {
  await freshCards(service, [0, 1], 0);
  const path = join(dir, 'dead-blob.json');
  let journal = await step(newJournal(1), path, 1);
  journal = await withCard(service, 0, async (card) => {
    const { journal: next } = await runStep(journal, card, {
      roots,
      pin: PIN,
      // Stop right after the export: the blob is out, FINALIZE not sent.
      checkpoint: async (j, name) => {
        await saveJournal(path, j);
        if (name === 'exported-1') throw new Error('stop after the export');
      },
    }).catch(async (e: unknown) => {
      if ((e as Error).message !== 'stop after the export') throw e;
      return { journal: (await loadJournal(path))! };
    });
    return next;
  });
  const sealed = journal.backups[0]!;
  if (sealed.stage !== 'sealed') throw new Error(`expected a sealed record, got ${sealed.stage}`);
  await withCard(service, 1, async (card) => {
    await card.select();
    await card.backupCancel();
    expect((await card.read()).state).toBe('BLANK');
    await card.backupCancel(); // nothing to cancel: a retried step answers the same
    const blob = {
      certificate: journal.primary!.certificate,
      ephemeralKey: sealed.sealed.ephemeralKey,
      signature: sealed.sealed.sealSignature,
      blob: sealed.sealed.blob,
    };
    expect(await swOf(() => card.backupImport(blob))).toBe('6985'); // BLANK: nothing to import into
    const fresh = await card.backupPrepare();
    expect(toHex(fresh.ephemeralKey)).not.toBe(toHex(sealed.ephemeralKey));
    expect(await swOf(() => card.backupImport(blob))).toBe('9A03'); // sealed to the old EB
    expect((await card.read()).state).toBe('BACKUP_PENDING');
  });
  const primary = await readCard(service, 0);
  expect({ state: primary.state, ids: primary.backupCardIds.map(toHex) }).toEqual({
    state: 'BACKUP_EXPORTING',
    ids: [toHex(sealed.cardId)],
  });
});

test('cancel-backup on a primary: nothing to cancel in v2, and for an exporting one only --resume goes forward (exit 8)', async () => {
  // Card 0 is BACKUP_EXPORTING from the test above.
  const exporting = cancel(0, join(dir, 'none.json'));
  expect(exporting.code).toBe(8);
  expect(exporting.stderr).toContain('is a primary that has already exported (BACKUP_EXPORTING, 1 backup card(s) counted)');
  expect(exporting.stderr).toContain('only `twincard backup --resume` goes forward');
  await freshCards(service, [0], 0);
  const wallet = cancel(0, join(dir, 'none.json'));
  expect(wallet.code).toBe(8);
  expect(wallet.stderr).toMatch(/is a primary \(WALLET\) with no backup under way: in protocol v2 a primary keeps nothing/);
  expect((await readCard(service, 0)).state).toBe('WALLET');
});

test(
  'cancel-backup refuses a card the journal holds a sealed blob for, ' +
    'unless --force; an unsealed one is dropped and the backup goes on',
  async () => {
    const wallet = await freshCards(service, [0, 1, 2, 3], 0);
    const path = join(dir, 'journal.json');
    let journal = await step(newJournal(2), path, 1);
    journal = await step(journal, path, 2);
    expect(journal.backups.map((b) => b.stage)).toEqual(['prepared', 'prepared']);

    // At the primary's step, an interrupted export could already count card 2: refused without --force.
    const careful = cancel(2, path);
    expect(careful.code).toBe(8);
    expect(careful.stderr).toContain('the primary may already count');
    expect((await readCard(service, 2)).state).toBe('BACKUP_PENDING');
    // The primary was never presented: --force drops card 2, and the journal forgets it.
    const dropped = cancel(2, path, '--force', '--json');
    expect({ code: dropped.code, stderr: dropped.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('is BLANK again') });
    expect(JSON.parse(dropped.stdout)).toEqual({
      reader: readerForCard(2),
      cardId: toHex(journal.backups[1]!.cardId),
      stateBefore: 'BACKUP_PENDING',
      cancelled: true,
      journal: 'card-dropped',
    });
    expect((await readCard(service, 2)).state).toBe('BLANK');
    journal = (await loadJournal(path))!;
    expect(journal.backups.map((b) => toHex(b.cardId))).toEqual([toHex((await readCard(service, 1)).cardId!)]);

    // The backup continues with card 3 in slot 2, then the primary exports to 1 and 3.
    const source = new PcscCardSource(service, [1, 3, 0].map(readerForCard), { mode: 'bench', waitMs: 5000 });
    const blobsOut = await runBackup(journal, {
      source,
      journalPath: path,
      roots,
      pin: PIN,
      onEvent: (e) => {
        if (e.type === 'step-done' && e.step === 'export-primary') throw new Error('stop after the export');
      },
    }).catch(async (e: unknown) => {
      if ((e as Error).message !== 'stop after the export') throw e;
      return (await loadJournal(path))!;
    });
    await source.close();
    expect(blobsOut.primary?.stage).toBe('finalized');

    // Card 3 holds a sealed blob: refused without --force (exit 8), nothing sent, the journal unchanged.
    const before = JSON.stringify(await loadJournal(path), (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
    const refused = cancel(3, path);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain('the primary already counts it as a backup card, for ever');
    expect(refused.stderr).toContain('--force');
    expect((await readCard(service, 3)).state).toBe('BACKUP_PENDING');
    expect(JSON.stringify(await loadJournal(path), (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))).toBe(before);

    // Card 1 imports; with --force card 3 is cancelled, the journal keeps its blob (the primary counts it).
    const rest = new PcscCardSource(service, [1].map(readerForCard), { mode: 'bench', waitMs: 5000 });
    const stopped = await runBackup(blobsOut, { source: rest, journalPath: path, roots, pin: PIN }).catch((e: unknown) => e);
    await rest.close();
    expect(stopped).toBeInstanceOf(NoMatchingCardError); // card 3 is not on this bench
    expect((await loadJournal(path))!.backups.map((b) => b.stage)).toEqual(['imported', 'sealed']);
    const forced = cancel(3, path, '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ stateBefore: 'BACKUP_PENDING', cancelled: true, journal: 'unchanged' });
    expect(existsSync(path)).toBe(true);
    expect((await readCard(service, 3)).state).toBe('BLANK');
    // The wallet is on the primary and card 1; the primary counts 1 and 3: a lost slot, never a hidden copy.
    const primary = await readCard(service, 0);
    const backup = await readCard(service, 1);
    expect({ state: backup.state, wallet: toHex(backup.walletPublicKey!) }).toEqual({ state: 'BACKED_UP', wallet: toHex(wallet) });
    expect(primary.state).toBe('BACKED_UP');
    expect(primary.backupCardIds.map(toHex)).toEqual([
      toHex((await readCard(service, 1)).cardId!),
      toHex((await readCard(service, 3)).cardId!),
    ]);
  },
);

test(
  "cancel-backup before the primary's step: BLANK again, no --force needed; " +
    'again: nothing to cancel; the last card removes the journal',
  async () => {
    await freshCards(service, [1], 0);
    const path = join(dir, 'single.json');
    await step(newJournal(2), path, 1); // backup card 1 of 2 prepared: the next step is backup card 2's
    const first = cancel(1, path, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ stateBefore: 'BACKUP_PENDING', cancelled: true, journal: 'removed' });
    expect(existsSync(path)).toBe(false);
    const again = cancel(1, path);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to cancel'); // the result: on stdout
  },
);
