/**
 * What a developer does with a user's `--record` file: replay it in a unit test. The two one-card transcripts
 * here were recorded from the reference applet on a virtual card through pcscd (`twincard info --record F`
 * and `twincard attest --trust-test-root --record F`, test card 2 personalized with the TEST manufacturer, a
 * wallet created and one signature made), in the format before `# connect` lines: they still replay.
 * Re-record them the same way when the wire format changes. The backup files (transcripts/backup-1-1/) are
 * re-recorded by test/integration/record.test.ts with TWINCARD_UPDATE_RECORD_FIXTURES=1.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { parseJournal } from '../../../src/flow/journal.js';
import { attest } from '../../../src/protocol/attestation.js';
import { newJournal, nextStep } from '../../../src/protocol/backup-model.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { testManufacturerRoot, trustedRoots } from '../../../src/protocol/roots.js';
import { parseTranscript, ReplayTransport, splitPresentations } from '../../../src/readers/index.js';
import {
  fillExportAnswers,
  RecordedRunSource,
  RecordingExhaustedError,
  replayRun,
  replayThreeRuns,
  sealedExports,
} from '../../record/recorded-backup.js';
import { RECORD_SEED } from '../../record/transcript-seed.js';

const recorded = (name: string) => readFileSync(fileURLToPath(new URL(`./transcripts/${name}`, import.meta.url)), 'utf8');

test('a recorded info session replays: what the user saw is what the library reads', async () => {
  const replay = new ReplayTransport(recorded('record-info.apdu'));
  const card = new TwincardCard(replay);
  await card.select();
  const info = await card.read();
  replay.assertDone();
  expect(info.state).toBe('WALLET');
  expect(toHex(info.cardId!)).toBe('5445535400000003');
  expect(info.signCounter).toBe(1);
  expect(info.pinTriesLeft).toBe(4);
});

test('a recorded attest session replays to the same verdict, with the challenge taken from the file', async () => {
  const text = recorded('record-attest.apdu');
  // ATTEST's challenge was fresh and random: a replay must send the one the card answered.
  const attestCommand = parseTranscript(text).find((exchange) => exchange.command.startsWith('80400000'));
  expect(attestCommand).toBeDefined();
  const challenge = fromHex(attestCommand!.command.slice(10, 10 + 64));
  const replay = new ReplayTransport(text);
  const verdict = await attest(new TwincardCard(replay), [testManufacturerRoot()], { challenge });
  replay.assertDone();
  expect(verdict.genuine).toBe(true);
  // ... and a different challenge does not match the recording: the replay is strict.
  const other = new ReplayTransport(text);
  await expect(attest(new TwincardCard(other), [testManufacturerRoot()], { challenge: new Uint8Array(32) })).rejects.toThrow(
    /line \d+: expected => 80400000/,
  );
});

describe('a recorded 1+1 backup (three `twincard backup --record` runs) replays to the same wallet', () => {
  // Recorded by test/integration/record.test.ts (TWINCARD_UPDATE_RECORD_FIXTURES=1): test cards, the TEST
  // code, the host's session randomness from RECORD_SEED; the journal the export run left holds the sealed
  // export that the transcript redacts.
  const fixture = (name: string) => recorded(`backup-1-1/${name}`);
  const runs = {
    prepare: fixture('prepare.apdu'),
    exportPrimary: fixture('export.apdu'),
    import: fixture('import.apdu'),
    journalAfterExport: parseJournal(fixture('journal-after-export.json')),
  };
  const pin = new TextEncoder().encode('246810');
  let dir: string;
  let replayed: Awaited<ReturnType<typeof replayThreeRuns>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twincard-record-replay-'));
    replayed = await replayThreeRuns(runs, newJournal(1), {
      journalPath: join(dir, 'journal.json'),
      roots: trustedRoots({ trustTestRoot: true }),
      pin,
      seed: RECORD_SEED,
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('every recorded exchange is replayed, strictly, and each run stops where the recorded one did', () => {
    for (const run of replayed) for (const card of run.source.cards) card.assertDone();
    expect(replayed.map((run) => run.source.outcomes)).toEqual([['used'], ['used'], ['used']]);
    expect(replayed[0].stopped).toBeInstanceOf(RecordingExhaustedError);
    expect(replayed[1].stopped).toBeInstanceOf(RecordingExhaustedError);
    expect(replayed[2].stopped).toBeUndefined();
    const done = replayed.map((run) => run.events.flatMap((e) => (e.type === 'step-done' ? [e.step] : [])));
    expect(done).toEqual([['prepare-backup-1'], ['export-primary'], ['import-1']]);
  });

  test('the same outcome: the backup is done, with the wallet key the CLI printed, on the cards it named', () => {
    const final = replayed[2].journal;
    expect(nextStep(final)).toEqual({ kind: 'done' });
    expect(toHex(final.primary!.walletPublicKey)).toBe(fixture('wallet-public-key.txt').trim());
    expect(final.backups.map((b) => b.stage)).toEqual(['imported']);
    const [primaryConnect, backupConnect] = [runs.exportPrimary, runs.prepare].map((text) => splitPresentations(text)[0]!.reader);
    expect(primaryConnect).not.toBe(backupConnect);
  });

  test('without the journal the redacted export answer replays as zeros, which the host refuses', async () => {
    const stopped = await replayRun(runs.exportPrimary, replayed[0].journal, {
      journalPath: join(dir, 'unfilled.json'),
      roots: trustedRoots({ trustTestRoot: true }),
      pin,
      seed: RECORD_SEED,
    });
    expect(stopped.stopped).toBeInstanceOf(Error);
    expect(stopped.stopped).not.toBeInstanceOf(RecordingExhaustedError);
    expect(stopped.events.some((e) => e.type === 'step-done')).toBe(false);
  });

  test('a different session seed does not match the recording: the replay is byte-exact', async () => {
    const other = await replayRun(fillExportAnswers(runs.exportPrimary, sealedExports(runs.journalAfterExport)), replayed[0].journal, {
      journalPath: join(dir, 'other.json'),
      roots: trustedRoots({ trustTestRoot: true }),
      pin,
      seed: `${RECORD_SEED} (not it)`,
    });
    expect(String(other.stopped)).toMatch(/line \d+: expected => 8070/);
  });

  test('no secret in the files: not the access code in any encoding, not a blob', () => {
    const codeHex = toHex(pin);
    const blob = toHex(sealedExports(runs.journalAfterExport)[0]!.blob);
    for (const text of [runs.prepare, runs.exportPrimary, runs.import]) {
      const flat = text.replace(/[\s]/g, '');
      expect(text).not.toContain('246810');
      expect(flat).not.toContain(codeHex);
      expect(flat).not.toContain(codeHex.toLowerCase());
      expect(flat).not.toContain(blob.slice(34, 98)); // the blob past its public header (version, P.id, B.id)
    }
    // ... and the probe finds the blob where it was: in the answer the redaction hid.
    expect(fillExportAnswers(runs.exportPrimary, sealedExports(runs.journalAfterExport)).replace(/\s/g, '')).toContain(blob.slice(34, 98));
    // The code did go out, wrapped: one VERIFY_PIN in a session, ciphertext only.
    expect(runs.exportPrimary.split('\n').filter((line) => line.startsWith('=> 8420'))).toHaveLength(1);
  });
});

test('a card that left mid-command in a recorded file replays as a PC/SC failure of exactly that command', async () => {
  const text = [
    '# connect 1: R',
    '=> 00A4040000',
    '<= 9000',
    `# => 8020000006 ${'..'.repeat(6)}`,
    '# no answer: PcscError: Card was removed.',
    '# disconnect 1',
    '# connect 2: R',
    '=> 00A4040000',
    '<= 9000',
    '',
  ].join('\n');
  const source = new RecordedRunSource(text);
  const request = { id: 1, prompt: 'tap', unwantedCardIds: [] };
  const first = await source.next(request);
  await first.transport.transmit(fromHex('00A4040000'));
  await expect(first.transport.transmit(fromHex('8020000006313233343536'))).rejects.toThrow('recorded: the card left');
  const again = new RecordedRunSource(text);
  const other = await again.next(request);
  await other.transport.transmit(fromHex('00A4040000'));
  await expect(other.transport.transmit(fromHex('8010000000'))).rejects.toThrow('the recorded card left after => 8020000006');
  const second = await source.next(request);
  await second.transport.transmit(fromHex('00A4040000'));
  for (const card of source.cards) card.assertDone();
  await expect(source.next(request)).rejects.toBeInstanceOf(RecordingExhaustedError);
});
