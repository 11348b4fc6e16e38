/**
 * BACKUP_ABORT and `twincard abort-backup` through pcscd: a backup that no wallet blob has left the primary for
 * can be given up (the primary goes back to WALLET, its old EP dies with it); once a blob is out, only
 * FINALIZE_BACKUP ends it. Cards: 0 = primary, 1 = backup card.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import type { LinkOffer } from '../../src/protocol/card.js';
import { CardRefusedError } from '../../src/protocol/errors.js';
import { PcscService } from '../../src/readers/index.js';
import { freshBlankCard, type PersonalizedCard } from './support/cards.js';
import { readerForCard, repoRoot } from './support/sim.js';

const PIN = new TextEncoder().encode('8642');
const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

let service: PcscService;
let p: PersonalizedCard;
let b: PersonalizedCard;
let offer: LinkOffer;

beforeAll(async () => {
  service = PcscService.open();
  p = await freshBlankCard(service, 0);
  b = await freshBlankCard(service, 1);
  await p.card.createWallet(PIN);
});
afterAll(async () => {
  await p.close();
  await b.close();
  service.close();
});

async function swOf(act: () => Promise<unknown>): Promise<string> {
  const e = await act().then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(CardRefusedError);
  return (e as CardRefusedError).sw.toString(16).toUpperCase();
}

test('BACKUP_ABORT needs the access code, then returns a linked primary to WALLET; the old EP is dead', async () => {
  await p.card.verifyPin(PIN);
  offer = await p.card.backupStart();
  const linked = await b.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
  expect(await p.card.linkBackup({ certificate: b.perso.certificate, ...linked })).toBe(1);
  await p.card.select();
  expect(await swOf(() => p.card.backupAbort())).toBe('6982');
  expect((await p.card.read()).state).toBe('BACKUP_PRIMARY');
  await p.card.verifyPin(PIN);
  await p.card.backupAbort();
  expect(await p.card.read()).toMatchObject({ state: 'WALLET', backupCount: 0 });
  await p.card.backupAbort(); // nothing to abort: a retried step answers the same
  const fresh = await p.card.backupStart();
  expect(toHex(fresh.ephemeralKey)).not.toBe(toHex(offer.ephemeralKey));
  // B's link answer was bound to the old EP: the primary refuses it now.
  expect(await swOf(() => p.card.linkBackup({ certificate: b.perso.certificate, ...linked }))).toBe('9A03');
  offer = fresh;
});

test('once a blob has left the primary, BACKUP_ABORT is refused (9A0C) and changes nothing', async () => {
  const linked = await b.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
  await p.card.verifyPin(PIN);
  await p.card.linkBackup({ certificate: b.perso.certificate, ...linked });
  await p.card.exportWallet(b.perso.cardId);
  const before = JSON.stringify(await p.card.read(), (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
  expect(await swOf(() => p.card.backupAbort())).toBe('9A0C');
  expect(JSON.stringify(await p.card.read(), (_k, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v))).toBe(before);
});

test('twincard abort-backup refuses after an export (exit 8, says how to finish) and leaves the journal', async () => {
  await p.close(); // the command needs the card to itself
  const dir = mkdtempSync(join(tmpdir(), 'twincard-abort-'));
  const journal = join(dir, 'journal.json');
  writeFileSync(journal, '{"not": "a journal"}\n');
  const run = spawnSync('node', [cli, 'abort-backup', '--reader', readerForCard(0), '--journal', journal], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_PIN: '8642' },
  });
  expect(run.status).toBe(8);
  expect(run.stderr).toMatch(/twincard backup --resume/);
  expect(existsSync(journal)).toBe(true);
});

test('twincard abort-backup on a primary with nothing exported: WALLET again, journal deleted, --json', async () => {
  // A new primary whose backup has a linked card but no blob yet.
  p = await freshBlankCard(service, 0);
  b = await freshBlankCard(service, 1);
  await p.card.createWallet(PIN);
  await p.card.verifyPin(PIN);
  offer = await p.card.backupStart();
  const linked = await b.card.linkPrimary({ certificate: p.perso.certificate, ...offer });
  await p.card.linkBackup({ certificate: b.perso.certificate, ...linked });
  await p.close();
  const dir = mkdtempSync(join(tmpdir(), 'twincard-abort-'));
  const journal = join(dir, 'journal.json');
  writeFileSync(journal, '{}\n');
  const run = spawnSync('node', [cli, 'abort-backup', '--reader', readerForCard(0), '--journal', journal, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_PIN: '8642' },
  });
  expect(run.stderr).toMatch(/backup aborted/);
  expect(run.status).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ stateBefore: 'BACKUP_PRIMARY', aborted: true, journalDeleted: journal });
  expect(existsSync(journal)).toBe(false);
  const again = spawnSync('node', [cli, 'abort-backup', '--reader', readerForCard(0), '--journal', journal], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_PIN: '8642' },
  });
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/nothing to abort/);
  p = await freshBlankCard(service, 0); // for afterAll
});
