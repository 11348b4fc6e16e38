/**
 * `--record FILE` as a user runs it (the built dist/, a child process) against the reference applet on a
 * virtual card, through pcsclite -> pcscd -> vpcd -> jCardSim: the transcript of `info` replays in the
 * library exactly as a unit test would replay it, and the access code used by `create-wallet` and `sign`
 * never appears in their transcripts, whether the host sends it plain (redacted) or wrapped in a session
 * (ciphertext), also when the command fails. Uses test card 2.
 *
 * Then the commands of several cards and sessions: a 1+1 `backup` (test cards 0 and 1) in three runs, each
 * with its own `--record` file, the first two stopped early (no card in time: exit 9, the file written
 * anyway), replayed through the runner to the same wallet; and a short `conformance` run on card 2.
 * With TWINCARD_UPDATE_RECORD_FIXTURES=1 the backup's files are copied to test/unit/cli/transcripts/backup-1-1/,
 * the fixture test/unit/cli/record-replay.test.ts replays.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import { TwincardCard } from '../../src/protocol/card.js';
import { loadJournal } from '../../src/flow/journal.js';
import { newJournal, nextStep } from '../../src/protocol/backup-model.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { PcscService, ReplayTransport, splitPresentations } from '../../src/readers/index.js';
import { replayThreeRuns, RecordingExhaustedError } from '../record/recorded-backup.js';
import { RECORD_SEED } from '../record/transcript-seed.js';
import { freshCards, PIN as BACKUP_PIN } from './support/backup-cards.js';
import { testCardId } from './support/cards.js';
import { readerForCard, repoRoot, sim } from './support/sim.js';

const K = 2;
const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'twincard-record-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PIN = '482915';
const PIN_HEX = toHex(new TextEncoder().encode(PIN));

function twincard(args: readonly string[], pin?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1', TWINCARD_CONFIG: join(work, 'no-config.json') };
  delete env['TWINCARD_PIN'];
  delete env['TWINCARD_READER'];
  if (pin !== undefined) env['TWINCARD_PIN'] = pin;
  const result = spawnSync(process.execPath, [CLI, ...args, '--reader', readerForCard(K)], { env, encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** No trace of the code: not its bytes in hex, not as text. */
function expectNoPin(text: string): void {
  expect(text).not.toContain(PIN_HEX);
  expect(text).not.toContain(PIN);
}

/** The command lines with this INS (plain CLA 80/90 or wrapped 84/94). */
const commandsWithIns = (text: string, ins: number) =>
  text.split('\n').filter((line) => new RegExp(`^=> [89][04]${ins.toString(16).toUpperCase().padStart(2, '0')}`).test(line));

beforeAll(() => {
  sim('wipe', K);
  const perso = twincard(['personalize', '--card-id', toHex(testCardId(K)), '--test-manufacturer', '--force']);
  expect(perso).toMatchObject({ code: 0 });
});

test('info --record writes a transcript with a header that replays through TwincardCard', async () => {
  const file = join(work, 'info.apdu');
  const result = twincard(['info', '--json', '--record', file]);
  expect(result.code).toBe(0);
  const info = JSON.parse(result.stdout) as { cardId: string; state: string };
  const text = readFileSync(file, 'utf8');
  expect(text).toMatch(/^# twincard \S+ session transcript \(--record\)\n# date: /);
  expect(text).toMatch(new RegExp(`\n# connect 1: ${readerForCard(K)} \\(ATR [0-9A-F]+\\)\n`));
  expect(text).toMatch(/\n# disconnect 1\n$/);
  expect(text).toMatch(/\n# date: \d{4}-\d\d-\d\dT/);
  // Replayed as a developer would replay a user's file in a unit test.
  const replay = new ReplayTransport(text);
  const card = new TwincardCard(replay);
  await card.select();
  const read = await card.read();
  replay.assertDone();
  expect(toHex(read.cardId!)).toBe(info.cardId);
  expect(read.state).toBe(info.state);
  // Written atomically: no temporary file left next to it.
  expect(readdirSync(work).filter((name) => name.endsWith('.tmp'))).toEqual([]);
});

test('create-wallet and sign --record: the access code is sent, and absent from the files', () => {
  const created = join(work, 'create.apdu');
  expect(twincard(['create-wallet', '--trust-test-root', '--record', created], PIN).code).toBe(0);
  const signed = join(work, 'sign.apdu');
  const digest = '5A'.repeat(32);
  expect(twincard(['sign', '--trust-test-root', '--digest', digest, '--record', signed], PIN).code).toBe(0);
  const createText = readFileSync(created, 'utf8');
  const signText = readFileSync(signed, 'utf8');
  // The code did go to the card (plain: redacted; wrapped: ciphertext), so an absence below means something.
  expect(commandsWithIns(createText, 0x30)).toHaveLength(1);
  expect(commandsWithIns(signText, 0x20)).toHaveLength(1);
  // SIGN went too, wrapped in the session: its digest is ciphertext.
  expect(commandsWithIns(signText, 0x32)).toHaveLength(1);
  expectNoPin(createText);
  expectNoPin(signText);
  for (const line of [...commandsWithIns(createText, 0x30), ...commandsWithIns(signText, 0x20)]) {
    // a plain form (80/90) is redacted; a wrapped one (84/94) is ciphertext of at least 52 bytes
    expect(line).toMatch(/^=> (8[0]\S+ (\.\.)+( 00)?|8[4]\S{112,})$/);
  }
});

test('a failing command still writes its transcript, without the code', () => {
  const file = join(work, 'wrong.apdu');
  const result = twincard(['sign', '--trust-test-root', '--digest', '11'.repeat(32), '--record', file], '000000');
  expect(result.code).not.toBe(0);
  expect(existsSync(file)).toBe(true);
  const text = readFileSync(file, 'utf8');
  expect(commandsWithIns(text, 0x20)).toHaveLength(1);
  expect(text).not.toContain(toHex(new TextEncoder().encode('000000')));
});

describe('backup --record: a 1+1 backup in three runs, each its own file, replayed to the same wallet', () => {
  const backupPinText = new TextDecoder().decode(BACKUP_PIN);
  const journal = join(work, 'backup-journal.json');
  const file = (name: string) => join(work, `backup-${name}.apdu`);

  /** Tap mode on one reader: after its step the card stays there, so the next request times out (exit 9). */
  function backupRun(cardK: number, name: string, extra: readonly string[]) {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TWINCARD_TRACE: '',
      TWINCARD_PIN: '',
      NO_COLOR: '1',
      TWINCARD_CONFIG: join(work, 'no-config.json'),
      TWINCARD_TEST_BACKUP_PIN: backupPinText,
      TWINCARD_TEST_SESSION_SEED: RECORD_SEED,
    };
    const args = ['backup', '--reader', readerForCard(cardK), '--trust-test-root', '--pin-env', 'TWINCARD_TEST_BACKUP_PIN'];
    args.push('--journal', journal, '--wait', '2', '--record', file(name), ...extra);
    const result = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  let wallet: Uint8Array;
  let walletFromCli: string;

  async function withService<T>(work: (service: PcscService) => Promise<T>): Promise<T> {
    const service = PcscService.open();
    try {
      await service.waitForReaders({ timeoutMs: 5000 });
      return await work(service);
    } finally {
      service.close();
    }
  }

  beforeAll(async () => {
    wallet = await withService((service) => freshCards(service, [0, 1], 0));
  });

  test('each run writes its file, the two stopped early too; the resumed runs never append to the first', async () => {
    const prepare = backupRun(1, 'prepare', ['--backups', '1']);
    expect(prepare.code).toBe(9);
    const exportRun = backupRun(0, 'export', ['--resume']);
    expect(exportRun.code).toBe(9);
    const journalAfterExport = await loadJournal(journal);
    expect(journalAfterExport?.backups.map((b) => b.stage)).toEqual(['sealed']);
    copyFileSync(journal, join(work, 'journal-after-export.json'));
    const importRun = backupRun(1, 'import', ['--resume', '--json']);
    expect(importRun.code).toBe(0);
    walletFromCli = (JSON.parse(importRun.stdout) as { walletPublicKey: string }).walletPublicKey;
    expect(walletFromCli).toBe(toHex(wallet));

    const texts = ['prepare', 'export', 'import'].map((name) => readFileSync(file(name), 'utf8'));
    for (const [k, text] of texts.entries()) {
      expect(text).toMatch(/^# twincard \S+ session transcript \(--record\): backup( --resume)?\n/);
      // One card per run, tapped once (the stop is a card that did not come, not a connect).
      expect(splitPresentations(text).map((p) => p.reader)).toEqual([readerForCard(k === 1 ? 0 : 1)]);
      expect(text).not.toContain(toHex(BACKUP_PIN));
      expect(text).not.toContain(backupPinText);
    }
    expect(texts[0]).toContain('# step-done prepare-backup-1 (1/3)');
    expect(texts[1]).toContain('# checkpoint export-primary:exported-1');
    expect(texts[1]).toContain('# step-done export-primary (2/3)');
    expect(texts[2]).toContain('# step-done import-1 (3/3)');
    // The access code went to the primary, wrapped (ciphertext); the blob's way out and in is redacted.
    expect(texts[1]).toMatch(/^=> 8420\S{100,}$/m);
    expect(texts[1]).toMatch(/^<= (\.\.)+ (61[0-9A-F]{2}|9000)$/m);
    expect(texts[2]).toMatch(/^=> [89]066\S* (\.\.)+/m);
    expect(readdirSync(work).filter((name) => name.endsWith('.tmp'))).toEqual([]);

    if (process.env['TWINCARD_UPDATE_RECORD_FIXTURES'] === '1') {
      const fixtures = join(repoRoot, 'test', 'unit', 'cli', 'transcripts', 'backup-1-1');
      mkdirSync(fixtures, { recursive: true });
      for (const name of ['prepare', 'export', 'import']) copyFileSync(file(name), join(fixtures, `${name}.apdu`));
      copyFileSync(join(work, 'journal-after-export.json'), join(fixtures, 'journal-after-export.json'));
      writeFileSync(join(fixtures, 'wallet-public-key.txt'), `${walletFromCli}\n`);
    }
  });

  test('Ctrl-C while the run waits for the next card: exit 9, and the file holds the step done before it', async () => {
    await withService((service) => freshCards(service, [0, 1], 0));
    const interrupted = join(work, 'interrupted-journal.json');
    const args = ['backup', '--reader', readerForCard(1), '--trust-test-root', '--pin-env', 'TWINCARD_TEST_BACKUP_PIN', '--backups', '1'];
    args.push('--journal', interrupted, '--wait', '60', '--record', file('interrupted'));
    const env = {
      ...process.env,
      TWINCARD_TRACE: '',
      TWINCARD_PIN: '',
      TWINCARD_TEST_BACKUP_PIN: backupPinText,
      TWINCARD_CONFIG: join(work, 'no-config.json'),
    };
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const waiting = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('step 1/3 done')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waiting;
    // Saved at the step's save points already (asynchronously: give the write a moment).
    for (let i = 0; i < 40 && !existsSync(file('interrupted')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(file('interrupted'))).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(9);
    const text = readFileSync(file('interrupted'), 'utf8');
    expect(text).toContain('# step-done prepare-backup-1 (1/3)');
    expect(text).toMatch(/\n# disconnect 1\n$/); // the final save, after the card was released
    expect(splitPresentations(text)).toHaveLength(1);
  });

  test('the three files replay through the runner and the protocol layer to the same wallet', async () => {
    const journalAfterExport = await loadJournal(join(work, 'journal-after-export.json'));
    const runs = {
      prepare: readFileSync(file('prepare'), 'utf8'),
      exportPrimary: readFileSync(file('export'), 'utf8'),
      import: readFileSync(file('import'), 'utf8'),
      journalAfterExport: journalAfterExport!,
    };
    const replayPath = join(work, 'replay-journal.json');
    const replayed = await replayThreeRuns(runs, newJournal(1), {
      journalPath: replayPath,
      roots: trustedRoots({ trustTestRoot: true }),
      pin: BACKUP_PIN,
      seed: RECORD_SEED,
    });
    for (const run of replayed) for (const card of run.source.cards) card.assertDone();
    expect(replayed[0].stopped).toBeInstanceOf(RecordingExhaustedError);
    expect(replayed[1].stopped).toBeInstanceOf(RecordingExhaustedError);
    expect(replayed[2].stopped).toBeUndefined();
    expect(nextStep(replayed[2].journal)).toEqual({ kind: 'done' });
    expect(toHex(replayed[2].journal.primary!.walletPublicKey)).toBe(walletFromCli);
  });
});

test('conformance --record: the checks exchanges with the card under test, each check noted after its own', () => {
  const file = join(work, 'conformance.apdu');
  const result = twincard(['conformance', '--only', 'select/answer,read/', '--json', '--record', file]);
  expect(result.code).toBe(0);
  const report = JSON.parse(result.stdout) as { results: Array<{ id: string; status: string; sent: unknown[] }> };
  expect(report.results.length).toBeGreaterThanOrEqual(4);
  const text = readFileSync(file, 'utf8');
  expect(text).toMatch(/^# twincard \S+ session transcript \(--record\): conformance\n/);
  const [card, ...others] = splitPresentations(text);
  expect(others).toEqual([]);
  expect(card!.reader).toBe(readerForCard(K));
  for (const check of report.results) expect(text).toContain(`\n# check ${check.id}: ${check.status}\n`);
  // read/response-chaining fetches READ in 8-byte parts: its GET RESPONSEs (CLA 00 and 80) are in the file.
  expect(text).toMatch(/^=> [08]0C00000/m);
  const sent = report.results.reduce((n, r) => n + r.sent.length, 0);
  expect(text.split('\n').filter((line) => line.startsWith('=> ')).length).toBeGreaterThanOrEqual(sent);
});

test('doctor --record: the one SELECT it sends, in a presentation of its own', () => {
  const file = join(work, 'doctor.apdu');
  const result = twincard(['doctor', '--trust-test-root', '--record', file]);
  expect(result.code).toBe(0);
  const text = readFileSync(file, 'utf8');
  expect(text).toMatch(/^# twincard \S+ session transcript \(--record\): doctor\n/);
  const [card, ...others] = splitPresentations(text);
  expect(others).toEqual([]);
  expect(card!.reader).toBe(readerForCard(K));
  expect(text.split('\n').filter((line) => line.startsWith('=> '))).toEqual(['=> 00A404000AF07477696E636172640100']);
});
