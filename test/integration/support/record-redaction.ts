/**
 * Records the transcripts of test/unit/cli/transcripts/redaction-*.apdu from two virtual cards (test cards 0
 * and 1, after TWINCARD_TEST_CARD_OFFSET) running the v2 applet: every exchange whose trace must hide
 * something (VERIFY_PIN, CREATE_WALLET, BACKUP_EXPORT with its answer in two parts, BACKUP_IMPORT chained)
 * between ordinary ones, in the order of a v2 backup (backup card, primary, backup card). The PIN and the
 * wallet are test values on wiped virtual cards, so the transcripts may hold them: the unit test checks
 * that the trace does not. The primary's commands travel wrapped in a card session (section 1.4) whose host
 * randomness (eH, IVs) comes from REDACTION_SEED, so that the unit test's replay sends the same bytes.
 *
 *   node dist/test/integration/support/record-redaction.js test/unit/cli/transcripts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TwincardCard } from '../../../src/protocol/card.js';
import { parseCertificate } from '../../../src/protocol/certificate.js';
import { seededRandom } from '../../../src/protocol/seeded-random.js';
import { REDACTION_SEED } from '../../record/transcript-seed.js';
import { PcscService, RecordingTransport } from '../../../src/readers/index.js';
import { freshBlankCard } from './cards.js';

export const RECORDED_PIN = new TextEncoder().encode('271828');
export const WRONG_PIN = new TextEncoder().encode('000000');
export const RECORDED_DIGEST = new Uint8Array(32).fill(0x5a);

async function main(outDir: string): Promise<void> {
  const service = PcscService.open();
  const sessions: Record<string, RecordingTransport> = {};
  const session = (name: string, transport: RecordingTransport) => (sessions[name] = transport);
  try {
    const a = await freshBlankCard(service, 0);
    const b = await freshBlankCard(service, 1);
    // Backup card, first tap: its ephemeral key, signed.
    const b1 = session('b1', new RecordingTransport(b.pcsc));
    const backup = new TwincardCard(b1);
    await backup.select();
    await backup.read();
    const prepared = await backup.backupPrepare();
    // Primary: wallet, a wrong code, the right one, a signature, then the export (data chained, the
    // answer in two parts: 61xx, GET RESPONSE) and finalize.
    const a1 = session('a1', new RecordingTransport(a.pcsc));
    const primary = new TwincardCard(a1, { sessionRandom: seededRandom(REDACTION_SEED) });
    await primary.select();
    const primaryInfo = await primary.read();
    await primary.openSession(parseCertificate(primaryInfo.certificate!));
    const walletPublicKey = await primary.createWallet(RECORDED_PIN);
    await primary.verifyPin(WRONG_PIN).catch(() => undefined);
    await primary.verifyPin(RECORDED_PIN);
    await primary.sign(RECORDED_DIGEST, walletPublicKey);
    const sealed = await primary.backupExport({ certificate: b.perso.certificate, ...prepared });
    await primary.backupFinalize();
    // Backup card again: the import (chained command).
    const b2 = session('b2', new RecordingTransport(b.pcsc));
    const backupAgain = new TwincardCard(b2);
    await backupAgain.select();
    await backupAgain.backupImport({ certificate: a.perso.certificate, ...sealed });
    await a.close();
    await b.close();
  } finally {
    service.close();
  }
  for (const [name, transport] of Object.entries(sessions)) {
    writeFileSync(
      join(outDir, `redaction-${name}.apdu`),
      `# Recorded by test/integration/support/record-redaction.ts from the reference applet on a virtual card.\n${transport.transcript()}`,
    );
  }
}

if (process.argv[1]?.endsWith('record-redaction.js')) {
  await main(process.argv[2] ?? '.');
}
