import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JournalError,
  loadJournal,
  newJournal,
  nextStep,
  parseJournal,
  saveJournal,
  serializeJournal,
  type BackupJournal,
} from '../../../src/flow/journal.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const point = (fill: number) => Uint8Array.of(0x04, ...bytes(64, fill));
const primary = { cardId: bytes(8, 1), certificate: bytes(154, 2), walletPublicKey: point(3), finalized: false };
const backup = (id: number) => ({ cardId: bytes(8, id), certificate: bytes(154, 0x20 + id), imported: false });
const started: BackupJournal = {
  ...newJournal(2, new Date('2026-11-24T00:00:00Z')),
  primary: { ...primary, ephemeralKey: point(4), linkSignature: bytes(71, 5) },
};
const linked = (id: number) => ({ ...backup(id), ephemeralKey: point(0x40 + id), linkSignature: bytes(70, 0x50 + id) });

describe('nextStep walks section 7 of the protocol', () => {
  test.each<[string, BackupJournal, ReturnType<typeof nextStep>]>([
    ['empty', newJournal(2), { kind: 'start-primary' }],
    ['primary read, not started', { ...newJournal(2), primary }, { kind: 'start-primary' }],
    ['started', started, { kind: 'link-backup', index: 0 }],
    ['one linked', { ...started, backups: [linked(9)] }, { kind: 'link-backup', index: 1 }],
    ['both linked', { ...started, backups: [linked(9), linked(10)] }, { kind: 'finish-primary' }],
    [
      'blobs but not finalized',
      { ...started, backups: [{ ...linked(9), blob: bytes(193, 7) }, { ...linked(10), blob: bytes(193, 8) }] },
      { kind: 'finish-primary' },
    ],
    [
      'finalized',
      {
        ...started,
        primary: { ...started.primary!, finalized: true },
        backups: [{ ...linked(9), blob: bytes(193, 7) }, { ...linked(10), blob: bytes(193, 8) }],
      },
      { kind: 'import', index: 0 },
    ],
    [
      'first imported',
      {
        ...started,
        primary: { ...started.primary!, finalized: true },
        backups: [{ ...linked(9), blob: bytes(193, 7), imported: true }, { ...linked(10), blob: bytes(193, 8) }],
      },
      { kind: 'import', index: 1 },
    ],
    [
      'done',
      {
        ...started,
        backupCount: 1,
        primary: { ...started.primary!, finalized: true },
        backups: [{ ...linked(9), blob: bytes(193, 7), imported: true }],
      },
      { kind: 'done' },
    ],
  ])('%s', (_name, journal, step) => {
    expect(nextStep(journal)).toEqual(step);
    // Every state survives a round trip through the file format unchanged.
    expect(parseJournal(serializeJournal(journal))).toEqual(journal);
  });
});

describe('parseJournal refuses damaged or edited files, naming the field', () => {
  const good = JSON.parse(serializeJournal({ ...started, backups: [linked(9)] })) as Record<string, unknown>;
  const edit = (f: (j: any) => void): string => {
    const j = structuredClone(good);
    f(j);
    return JSON.stringify(j);
  };
  test.each([
    ['not JSON', '{', /not JSON/],
    ['wrong format', edit((j) => (j.format = 'x')), /journal.format/],
    ['future version', edit((j) => (j.version = 2)), /journal.version: expected 1, got 2/],
    ['a pin field', edit((j) => (j.primary.pin = '1234')), /journal.primary: unexpected field "pin"/],
    ['short card id', edit((j) => (j.primary.cardId = '0102')), /journal.primary.cardId: expected 8 bytes, got 2/],
    ['odd hex', edit((j) => (j.backups[0].ephemeralKey = 'ABC')), /journal.backups\[0\].ephemeralKey: expected hex/],
    ['signature without key', edit((j) => delete j.backups[0].ephemeralKey), /ephemeralKey and linkSignature come together/],
    ['too many cards', edit((j) => ((j.backupCount = 1), j.backups.push(j.backups[0]))), /2 cards for a backup to 1/],
    ['same card twice', edit((j) => (j.backups[0].cardId = j.primary.cardId)), /the same card id appears twice/],
    ['imported without blob', edit((j) => (j.backups[0].imported = true)), /imported without a blob/],
    ['finalized early', edit((j) => (j.primary.finalized = true)), /finalized before every backup card had its blob/],
    ['backup count 3', edit((j) => (j.backupCount = 3)), /backupCount: expected 1 or 2/],
  ])('%s', (_name, text, message) => {
    expect(() => parseJournal(text)).toThrow(JournalError);
    expect(() => parseJournal(text)).toThrow(message);
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
    expect(await loadJournal(path)).toBeUndefined();
    await saveJournal(path, started);
    expect(await loadJournal(path)).toEqual(started);
    expect(await readFile(path, 'utf8')).toContain('"format": "twincard-backup-journal"');
  });

  test('a damaged file is an error naming the file, not a fresh start', async () => {
    const path = join(dir, 'backup.json');
    await writeFile(path, '{"format":"twincard-backup-journal"');
    await expect(loadJournal(path)).rejects.toThrow(`${path}: journal is not JSON`);
  });
});
