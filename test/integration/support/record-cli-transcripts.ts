/**
 * Records test/unit/cli/transcripts/record-{info,attest}.apdu the way a user would send them: test card 2
 * (after TWINCARD_TEST_CARD_OFFSET) wiped, personalized with the TEST manufacturer, a wallet created and one
 * signature made (in a card session), one wrong access code tried; then `twincard info --record F` and
 * `twincard attest --trust-test-root --record F` through the built CLI.
 *
 *   node dist/test/integration/support/record-cli-transcripts.js test/unit/cli/transcripts
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseCertificate } from '../../../src/protocol/certificate.js';
import { PcscService } from '../../../src/readers/index.js';
import { freshBlankCard } from './cards.js';
import { readerForCard, repoRoot } from './sim.js';

const CARD = 2;
const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const PIN = new TextEncoder().encode('246810');
const WRONG_PIN = new TextEncoder().encode('000000');

async function prepareCard(): Promise<void> {
  const service = PcscService.open();
  try {
    const { card, perso, close } = await freshBlankCard(service, CARD);
    try {
      await card.openSession(parseCertificate(perso.certificate));
      const wallet = await card.createWallet(PIN);
      await card.verifyPin(PIN);
      await card.sign(new Uint8Array(32).fill(0x11), wallet);
      await card.verifyPin(WRONG_PIN).catch(() => undefined);
    } finally {
      await close();
    }
  } finally {
    service.close();
  }
}

function record(args: readonly string[], file: string): void {
  const env: NodeJS.ProcessEnv = { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1' };
  delete env['TWINCARD_PIN'];
  const result = spawnSync(process.execPath, [CLI, ...args, '--reader', readerForCard(CARD), '--record', file], { env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`twincard ${args.join(' ')}: exit ${String(result.status)}\n${result.stderr}`);
}

if (process.argv[1]?.endsWith('record-cli-transcripts.js')) {
  const outDir = process.argv[2] ?? '.';
  await prepareCard();
  record(['info'], join(outDir, 'record-info.apdu'));
  record(['attest', '--trust-test-root'], join(outDir, 'record-attest.apdu'));
}
