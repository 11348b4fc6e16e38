/**
 * `--record FILE` as a user runs it (the built dist/, a child process) against the reference applet on a
 * virtual card, through pcsclite -> pcscd -> vpcd -> jCardSim: the transcript of `info` replays in the
 * library exactly as a unit test would replay it, and the access code used by `create-wallet` and `sign`
 * never appears in their transcripts, whether the host sends it plain (redacted) or wrapped in a session
 * (ciphertext), also when the command fails. Uses test card 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/apdu/index.js';
import { TwincardCard } from '../../src/protocol/card.js';
import { ReplayTransport } from '../../src/readers/index.js';
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
  expect(text).toMatch(/^# twincard \S+ session transcript \(--record\)\n# reader: /);
  expect(text).toContain(`# reader: ${readerForCard(K)}\n`);
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
