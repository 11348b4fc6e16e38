/**
 * Records the APDU transcripts that test/unit/flow/backup-replay.test.ts replays: one file per card
 * presentation of a real 1+2 protocol v2 backup on the virtual cards (through pcscd) running the v2
 * applet, including wrong cards (one of them BACKUP_PENDING for another backup) and the primary pulled
 * after its second BACKUP_EXPORT was processed (its answer lost: the primary counts backup card 2, the
 * journal holds only backup card 1's blob).
 *
 *   npx tsc -p tsconfig.json && TWINCARD_TEST_CARD_OFFSET=4 node dist/test/record/backup-transcripts.js
 *
 * The access code travels wrapped in the card session (eH and IVs from a fixed seed, TRANSCRIPT_SEED, so that
 * replay is byte-exact): the TEST code (246810) of TEST cards, test data, no secret.
 * Cards 0..3 (plus the offset) are wiped and personalized first.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, type ApduTransport } from '../../src/apdu/index.js';
import { runBackup } from '../../src/flow/backup-runner.js';
import type { CardRequest, CardSource, PresentedCard } from '../../src/flow/card-source.js';
import { saveJournal } from '../../src/flow/journal.js';
import { newJournal } from '../../src/protocol/backup-model.js';
import { trustedRoots } from '../../src/protocol/roots.js';
import { seededRandom } from '../../src/protocol/seeded-random.js';
import { TRANSCRIPT_SEED } from './transcript-seed.js';
import { PcscService, RecordingTransport } from '../../src/readers/index.js';
import { control, freshCards, PIN, waitPresence, withCard } from '../integration/support/backup-cards.js';
import { readerForCard, repoRoot } from '../integration/support/sim.js';

const OUT = join(repoRoot, 'test', 'unit', 'flow', 'transcripts', 'backup-1-2');

/**
 * Which card the "person" presents for each request, in order (the tap test's sequence plus one loss).
 * Card 3 is BACKUP_PENDING for another backup (prepared before the run).
 */
const TAPS: ReadonlyArray<{ card: number; pullAfter?: { command: string; nth: number } }> = [
  { card: 0 }, // prepare-backup-1: the primary -> HAS_WALLET
  { card: 3 }, // a card pending for another backup -> PENDING_ELSEWHERE
  { card: 1 },
  { card: 1 }, // prepare-backup-2: backup card 1 again -> SAME_BACKUP_TWICE
  { card: 2 },
  { card: 2 }, // export-primary: a backup card -> BACKUP_PRESENTED
  { card: 0, pullAfter: { command: '8462', nth: 2 } }, // the primary, pulled once its 2nd BACKUP_EXPORT was processed
  { card: 0 }, // the primary again: BACKUP_EXPORT to backup card 2 repeated, then FINALIZE
  { card: 3 }, // import: the pending stranger -> STRANGER
  { card: 2 }, // import: backup card 2 first
  { card: 1 },
];

/** Records one presentation; a command whose answer never came is written as a comment. */
class Recorder implements ApduTransport {
  readonly recording: RecordingTransport;
  lostCommand: string | undefined;

  #seen = 0;

  constructor(
    inner: ApduTransport,
    private readonly pullAfter: { command: string; nth: number } | undefined,
    private readonly card: number,
  ) {
    this.recording = new RecordingTransport(inner);
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const hex = toHex(apdu);
    if (this.pullAfter !== undefined && hex.startsWith(this.pullAfter.command) && ++this.#seen === this.pullAfter.nth) {
      await control(this.card, 'pull-after-next');
    }
    try {
      return await this.recording.transmit(apdu);
    } catch (error) {
      this.lostCommand = hex;
      throw error;
    }
  }
}

async function main(): Promise<void> {
  const service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  try {
    await freshCards(service, [0, 1, 2, 3], 0);
    await withCard(service, 3, async (card) => {
      await card.select();
      await card.backupPrepare();
    });
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    let n = 0;
    const source: CardSource = {
      interactive: true,
      async next(_request: CardRequest): Promise<PresentedCard> {
        const tap = TAPS[n];
        if (tap === undefined) throw new Error('no more taps');
        const reader = readerForCard(tap.card);
        await waitPresence(service, tap.card, true);
        const pcsc = await service.connect(reader, { share: 'exclusive', protocol: 'any' });
        const recorder = new Recorder(pcsc, tap.pullAfter, tap.card);
        const index = ++n;
        return {
          transport: recorder,
          where: reader,
          identified: () => undefined,
          async release(outcome) {
            const name = `${String(index).padStart(2, '0')}-card${tap.card}-${outcome}.apdu`;
            const lost =
              recorder.lostCommand === undefined
                ? ''
                : `# lost: the card left after this command; no answer\n# => ${recorder.lostCommand}\n`;
            writeFileSync(
              join(OUT, name),
              `# card ${tap.card}, presentation ${index}: ${outcome}\n${recorder.recording.transcript()}${lost}`,
            );
            await pcsc.disconnect('reset').catch(() => undefined);
            if (outcome === 'lost') {
              await waitPresence(service, tap.card, false);
              await control(tap.card, 'insert');
            }
          },
        };
      },
      async close() {},
    };
    const journalPath = join(OUT, '..', 'backup-1-2.journal.json');
    const journal = newJournal(2, new Date('2026-11-25T00:00:00Z'));
    await saveJournal(journalPath, journal);
    await runBackup(journal, {
      source,
      journalPath,
      roots: trustedRoots({ trustTestRoot: true }),
      pin: PIN,
      sessionRandom: seededRandom(TRANSCRIPT_SEED),
    });
    rmSync(journalPath);
    console.log(`recorded ${readdirSync(OUT).length} presentations in ${OUT}`);
  } finally {
    service.close();
  }
}

await main();
