/**
 * The integration tests' handle on the virtual cards started by `scripts/sim.sh up` (the test command does
 * that before jest): reader names by card index (src/sim), and the card verbs, run as `twincard sim ...` (dist/,
 * built by the integration project's global setup) so that the tests drive the cards as a person does, and
 * synchronously, as the tests call them between awaits.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { simReaderName } from '../../../src/sim/index.js';

/** The checkout: the nearest folder up from here with scripts/sim.sh (from test/ under jest, or dist/test/ when compiled). */
export const repoRoot = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'sim.sh'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no scripts/sim.sh above ${start}`);
  }
}

/**
 * Several developers (or helpers) can run the integration tests at once against ONE pcscd started with more
 * cards (`sim.sh up --cards 12`): each sets TWINCARD_TEST_CARD_OFFSET to the first card index it owns, and
 * test card k is then virtual card offset+k. CI leaves it unset (offset 0, cards 0..3).
 */
export const cardOffset = parseCardOffset(process.env['TWINCARD_TEST_CARD_OFFSET']);

function parseCardOffset(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^[0-9]{1,2}$/.test(value)) throw new Error(`TWINCARD_TEST_CARD_OFFSET must be a card index, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** The reader test card k starts in: virtual card offset+k's own reader. */
export function readerForCard(k: number): string {
  return simReaderName(k + cardOffset);
}

/** `twincard sim ARGS` on the shared run folder (`<repo>/.run`, as sim.sh up made it); its stdout. Throws on a non-zero exit. */
function twincardSim(args: readonly string[]): string {
  return execFileSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'sim', ...args], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_RUN_DIR: join(repoRoot, '.run'), TWINCARD_TRACE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export type SimControl = 'pull' | 'insert' | 'pull-after-next' | 'wipe';

/** `twincard sim COMMAND K` on test card `card` (wipe with --force: there is no terminal to ask). */
export function sim(command: SimControl, card: number): string {
  return twincardSim([command, String(card + cardOffset), ...(command === 'wipe' ? ['--force'] : [])]);
}

/**
 * `twincard sim root K PEM`: test card `card` wiped and installed again with PEM's public key as its manufacturer root
 * (protocol.md 6, Installation). Put it back with {@link TEST_ROOT_PEM} when done, or the next test meets a card
 * that refuses the TEST manufacturer.
 */
export function simRoot(card: number, pem: string): void {
  twincardSim(['root', String(card + cardOffset), pem, '--force']);
}

/** The TEST manufacturer's public key, every test card's root after `sim.sh up`. */
export const TEST_ROOT_PEM = join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem');

/**
 * Puts test card `card` into the reader of test card `reader` (`twincard sim put`): the card there leaves it and is in
 * no reader until put somewhere; pcscd has seen the removal, then the insertion, when this returns. One reader,
 * cards swapped by hand: `simPut(1, 0)` then `simPut(0, 0)`. Put each card back in its own reader when done
 * (`simPut(k, k)`), or the next test finds a reader empty (`sim.sh up` also puts every card home).
 */
export function simPut(card: number, reader: number): string {
  return twincardSim(['put', String(card + cardOffset), String(reader + cardOffset)]);
}

/** Test card `card`'s own answer to its control socket's `status` (`inserted apdus=N port=P root=HEX`, ...). */
export function simStatus(card: number): string {
  // Not twincardSim: `sim status` exits 5 when ANY card process is down (another developer's, on a shared sim),
  // and the document on stdout still says what this card answered.
  const run = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'sim', 'status', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, TWINCARD_RUN_DIR: join(repoRoot, '.run'), TWINCARD_TRACE: '' },
  });
  const doc = JSON.parse(run.stdout) as { cards: { index: number; control: string | null }[] };
  const control = doc.cards.find((c) => c.index === card + cardOffset)?.control;
  if (control === undefined || control === null) throw new Error(`virtual card ${card + cardOffset} gives no status (twincard sim status)`);
  return control;
}
