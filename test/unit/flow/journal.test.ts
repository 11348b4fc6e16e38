import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadJournal, parseJournal, saveJournal, serializeJournal } from '../../../src/flow/journal.js';
import {
  completedSteps,
  JournalError,
  newJournal,
  nextStep,
  type BackupJournal,
  type BackupRecord,
  type PrimaryRecord,
} from '../../../src/protocol/backup-model.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const point = (fill: number) => Uint8Array.of(0x04, ...bytes(64, fill));
const primary = (stage: PrimaryRecord['stage']): PrimaryRecord => ({
  stage,
  cardId: bytes(8, 1),
  certificate: bytes(220, 2),
  walletPublicKey: point(3),
});
const claimed = (id: number): BackupRecord => ({ stage: 'claimed', cardId: bytes(8, id), certificate: bytes(219, 0x20 + id) });
const prepared = (id: number): BackupRecord => ({
  stage: 'prepared',
  cardId: bytes(8, id),
  certificate: bytes(219, 0x20 + id),
  ephemeralKey: point(0x40 + id),
  prepareSignature: bytes(70, 0x50 + id),
});
const sealedBlob = (id: number) => ({ ephemeralKey: point(0x60 + id), sealSignature: bytes(71, 0x70 + id), blob: bytes(193, 0x80 + id) });
const sealed = (id: number): BackupRecord => ({ ...prepared(id), stage: 'sealed', sealed: sealedBlob(id) }) as BackupRecord;
const imported = (id: number): BackupRecord => ({ ...prepared(id), stage: 'imported', sealed: sealedBlob(id) }) as BackupRecord;
const empty = newJournal(2, new Date('2026-12-01T00:00:00Z'));
const j = (backups: BackupRecord[], p?: PrimaryRecord, count: 1 | 2 = 2): BackupJournal => ({
  ...empty,
  backupCount: count,
  backups,
  ...(p && { primary: p }),
});

describe('nextStep walks section 7 of the protocol: backup cards, the primary once, imports', () => {
  test.each<[string, BackupJournal, ReturnType<typeof nextStep>, number]>([
    ['empty', empty, { kind: 'prepare-backup', index: 0 }, 0],
    ['card 1 claimed (its BACKUP_PREPARE may have run)', j([claimed(9)]), { kind: 'prepare-backup', index: 0 }, 0],
    ['card 1 prepared', j([prepared(9)]), { kind: 'prepare-backup', index: 1 }, 1],
    ['card 2 claimed', j([prepared(9), claimed(10)]), { kind: 'prepare-backup', index: 1 }, 1],
    ['both prepared', j([prepared(9), prepared(10)]), { kind: 'export-primary' }, 2],
    ['one blob saved', j([sealed(9), prepared(10)], primary('exporting')), { kind: 'export-primary' }, 2],
    ['both blobs, not finalized', j([sealed(9), sealed(10)], primary('exporting')), { kind: 'export-primary' }, 2],
    ['a card dropped after an export (cancel-backup)', j([sealed(10)], primary('exporting')), { kind: 'prepare-backup', index: 1 }, 1],
    ['finalized', j([sealed(9), sealed(10)], primary('finalized')), { kind: 'import', index: 0 }, 3],
    ['card 2 imported first', j([sealed(9), imported(10)], primary('finalized')), { kind: 'import', index: 0 }, 4],
    ['done (1+1)', j([imported(9)], primary('finalized'), 1), { kind: 'done' }, 3],
    ['done (1+2)', j([imported(9), imported(10)], primary('finalized')), { kind: 'done' }, 5],
  ])('%s', (_name, journal, step, completed) => {
    expect(nextStep(journal)).toEqual(step);
    expect(completedSteps(journal)).toBe(completed);
    // Every state survives a round trip through the file format unchanged.
    expect(parseJournal(serializeJournal(journal))).toEqual(journal);
  });
});

describe('parseJournal refuses damaged or edited files, naming the field', () => {
  const good = JSON.parse(serializeJournal(j([sealed(9), prepared(10)], primary('exporting')))) as Record<string, unknown>;
  // Each case vandalises the file's JSON as a hostile editor would: untyped on purpose.
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
    @typescript-eslint/no-unsafe-return -- see above */
  const edit = (f: (j: any) => void): string => {
    const copy = structuredClone(good);
    f(copy);
    return JSON.stringify(copy);
  };
  test.each([
    ['not JSON', '{', /not JSON/],
    ['wrong format', edit((x) => (x.format = 'x')), /journal.format/],
    ['future version', edit((x) => (x.version = 3)), /journal.version: expected 2, got 3/],
    ['a pin field', edit((x) => (x.primary.pin = '1234')), /journal.primary: unexpected field "pin"/],
    ['short card id', edit((x) => (x.primary.cardId = '0102')), /journal.primary.cardId: expected 8 bytes, got 2/],
    ['odd hex', edit((x) => (x.backups[1].ephemeralKey = 'ABC')), /journal.backups\[1\].ephemeralKey: expected hex/],
    ['an unknown stage', edit((x) => (x.backups[1].stage = 'linked')), /journal.backups\[1\].stage: expected "claimed", "prepared"/],
    [
      'a prepared card without its signature',
      edit((x) => delete x.backups[1].prepareSignature),
      /journal.backups\[1\].prepareSignature: missing \(stage prepared\)/,
    ],
    [
      'a blob on a prepared card',
      edit((x) => (x.backups[1].sealed = x.backups[0].sealed)),
      /journal.backups\[1\]: unexpected field "sealed"/,
    ],
    ['a sealed card without its blob', edit((x) => delete x.backups[0].sealed.blob), /journal.backups\[0\].sealed.blob: missing/],
    ['a short blob', edit((x) => (x.backups[0].sealed.blob = 'AA')), /journal.backups\[0\].sealed.blob: expected 193 bytes, got 1/],
    ['too many cards', edit((x) => (x.backupCount = 1)), /journal.backups: 2 cards for a backup to 1/],
    ['same card twice', edit((x) => (x.backups[1].cardId = x.primary.cardId)), /the same card id appears twice/],
    ['a blob without a primary', edit((x) => delete x.primary), /journal.primary: missing, though a blob was sealed/],
    [
      'a primary without a blob',
      edit((x) => {
        x.backups[0] = { ...x.backups[1], cardId: '0909090909090909', stage: 'prepared' };
      }),
      /journal.primary: recorded, though no blob was sealed/,
    ],
    ['finalized early', edit((x) => (x.primary.stage = 'finalized')), /finalized before every backup card had its blob/],
    ['imported before finalize', edit((x) => (x.backups[0].stage = 'imported')), /a card imported before the primary was finalized/],
    ['backup count 3', edit((x) => (x.backupCount = 3)), /backupCount: expected 1 or 2/],
  ])('%s', (_name, text, message) => {
    expect(() => parseJournal(text)).toThrow(JournalError);
    expect(() => parseJournal(text)).toThrow(message);
  });
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access,
    @typescript-eslint/no-unsafe-return */

  test('a version 1 journal: v1 backups cannot be resumed, and what to do', () => {
    const v1 = JSON.stringify({
      format: 'twincard-backup-journal',
      version: 1,
      backupCount: 1,
      createdAt: '2026-11-25T09:00:00.000Z',
      backups: [],
    });
    expect(() => parseJournal(v1)).toThrow(JournalError);
    expect(() => parseJournal(v1)).toThrow(
      /version 1 journal.*cannot resume.*Finish or abort it with the twincard release that started it.*remove this file/,
    );
  });
});

describe('files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twincard-journal-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  test('no journal is undefined; a saved one loads back equal', async () => {
    const path = join(dir, 'backup.json');
    const journal = j([sealed(9), prepared(10)], primary('exporting'));
    expect(await loadJournal(path)).toBeUndefined();
    await saveJournal(path, journal);
    expect(await loadJournal(path)).toEqual(journal);
    const text = await readFile(path, 'utf8');
    expect(text).toContain('"format": "twincard-backup-journal"');
    expect(text).toContain('"version": 2');
  });

  test('a damaged file is an error naming the file, not a fresh start', async () => {
    const path = join(dir, 'backup.json');
    await writeFile(path, '{"format":"twincard-backup-journal"');
    await expect(loadJournal(path)).rejects.toThrow(`${path}: journal is not JSON`);
  });
});
