/**
 * `twincard cancel-backup`'s decision, from READ and the journal alone (nothing is sent to a card it
 * refuses), and what it does to the journal file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../../src/apdu/index.js';
import { cancellable, dropFromJournal } from '../../../src/cli/commands/cancel-backup.js';
import { CommandFailure } from '../../../src/cli/errors.js';
import { loadJournal, saveJournal } from '../../../src/flow/journal.js';
import { newJournal, type BackupJournal, type BackupRecord } from '../../../src/protocol/backup-model.js';
import type { CardInfo } from '../../../src/protocol/card.js';
import type { CardStateName } from '../../../src/protocol/constants.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const point = (fill: number) => Uint8Array.of(0x04, ...bytes(64, fill));
const B1 = bytes(8, 0x11);
const B2 = bytes(8, 0x22);
const P = bytes(8, 0x33);
const info = (state: CardStateName, cardId: Uint8Array | null = B1, backupCount = 0): CardInfo => ({
  version: 2,
  state,
  ...(cardId === null ? {} : { cardId }),
  pinTriesLeft: 5,
  signCounter: 0,
  backupCount,
  backupCardIds: [],
});
const prepared = (id: Uint8Array): BackupRecord => ({
  stage: 'prepared',
  cardId: id,
  certificate: bytes(219, id[0]!),
  ephemeralKey: point(id[0]!),
  prepareSignature: bytes(70, id[0]!),
});
const sealed = (id: Uint8Array): BackupRecord =>
  ({
    ...prepared(id),
    stage: 'sealed',
    sealed: { ephemeralKey: point(9), sealSignature: bytes(70, 9), blob: bytes(193, 9) },
  }) as BackupRecord;
const journal = (backups: BackupRecord[], primary = false): BackupJournal => ({
  ...newJournal(2, new Date('2026-12-01T00:00:00Z')),
  backups,
  ...(primary && { primary: { stage: 'exporting' as const, cardId: P, certificate: bytes(220, 3), walletPublicKey: point(3) } }),
});

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CommandFailure);
    expect((e as CommandFailure).exitCode).toBe(8);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('which card cancel-backup cancels', () => {
  test('a pending or blank card with no journal, or one the journal does not name', () => {
    expect(toHex(cancellable(info('BACKUP_PENDING'), undefined, false))).toBe(toHex(B1));
    expect(toHex(cancellable(info('BLANK'), undefined, false))).toBe(toHex(B1));
    expect(toHex(cancellable(info('BACKUP_PENDING', B2), journal([prepared(B1)]), false))).toBe(toHex(B2));
  });

  test("a card of the journal before the primary's step: no --force needed", () => {
    expect(toHex(cancellable(info('BACKUP_PENDING'), journal([prepared(B1)]), false))).toBe(toHex(B1));
  });

  test("a card of a backup at the primary's step: --force, since an interrupted export may already count it", () => {
    const j = journal([prepared(B1), prepared(B2)]);
    expect(refusal(() => cancellable(info('BACKUP_PENDING'), j, false))).toContain('the primary may already count card 1111111111111111');
    expect(toHex(cancellable(info('BACKUP_PENDING'), j, true))).toBe(toHex(B1));
  });

  test('a card the journal holds a sealed blob for: --force, the slot is lost', () => {
    const j = journal([sealed(B1), prepared(B2)], true);
    expect(refusal(() => cancellable(info('BACKUP_PENDING'), j, false))).toContain(
      'the primary already counts it as a backup card, for ever',
    );
    expect(toHex(cancellable(info('BACKUP_PENDING'), j, true))).toBe(toHex(B1));
  });

  test.each<[CardStateName, string]>([
    ['WALLET', 'is a primary (WALLET) with no backup under way: in protocol v2 a primary keeps nothing'],
    ['BACKUP_EXPORTING', 'only `twincard backup --resume` goes forward'],
    ['BACKED_UP', 'is BACKED_UP: its backup is finished, there is nothing to cancel'],
  ])('%s: refused, saying why, even with --force', (state, message) => {
    const text = refusal(() => cancellable(info(state, P, state === 'WALLET' ? 0 : 1), undefined, true));
    expect(text).toContain(message);
    expect(text).toContain('nothing was sent to it');
  });

  test('a FACTORY card: nothing to cancel', () => {
    expect(refusal(() => cancellable(info('FACTORY', null), undefined, true))).toContain('not personalized (FACTORY)');
  });
});

describe('what cancel-backup does to the journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twincard-cancel-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  test('drops an unsealed card and keeps the rest; removes a journal left empty; keeps a sealed card', async () => {
    const path = join(dir, 'journal.json');
    const two = journal([sealed(B1), prepared(B2)], true);
    await saveJournal(path, two);
    expect(await dropFromJournal(path, two, B1)).toBe('unchanged');
    expect(await dropFromJournal(path, two, B2)).toBe('card-dropped');
    expect((await loadJournal(path))!.backups.map((b) => toHex(b.cardId))).toEqual([toHex(B1)]);
    const one = journal([prepared(B1)]);
    await saveJournal(path, one);
    expect(await dropFromJournal(path, one, B2)).toBe('unchanged');
    expect(await dropFromJournal(path, one, B1)).toBe('removed');
    expect(existsSync(path)).toBe(false);
    expect(await dropFromJournal(path, undefined, B1)).toBe('none');
  });
});
