/**
 * The integration tests' handle on the virtual cards started by `scripts/sim.sh up` (the test command does
 * that before jest): reader names by card index, and the pull/insert controls.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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

/** Test card k is virtual card offset+k, in slot K%2 of vpcd entry K/2; entries after the first are named "Virtual PCD <n>". */
export function readerForCard(k: number): string {
  const card = k + cardOffset;
  const entry = Math.floor(card / 2);
  return `${entry === 0 ? 'Virtual PCD' : `Virtual PCD ${entry + 1}`} 00 0${card % 2}`;
}

export type SimControl = 'pull' | 'insert' | 'pull-after-next' | 'wipe';

export function sim(command: SimControl, card: number): string {
  return execFileSync(join(repoRoot, 'scripts', 'sim.sh'), [command, String(card + cardOffset)], { encoding: 'utf8' }).trim();
}

/**
 * `sim.sh root K PEM`: test card `card` wiped and installed again with PEM's public key as its manufacturer root
 * (protocol.md 6, Installation). Put it back with {@link TEST_ROOT_PEM} when done, or the next test meets a card
 * that refuses the TEST manufacturer.
 */
export function simRoot(card: number, pem: string): void {
  execFileSync(join(repoRoot, 'scripts', 'sim.sh'), ['root', String(card + cardOffset), pem], { encoding: 'utf8' });
}

/** The TEST manufacturer's public key, every test card's root after `sim.sh up`. */
export const TEST_ROOT_PEM = join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem');

/**
 * Puts test card `card` into the reader of test card `reader` (`sim.sh put`): the card there leaves it and is in
 * no reader until put somewhere; pcscd has seen the removal, then the insertion, when this returns. One reader,
 * cards swapped by hand: `simPut(1, 0)` then `simPut(0, 0)`. Put each card back in its own reader when done
 * (`simPut(k, k)`), or the next test finds a reader empty (`sim.sh up` also puts every card home).
 */
export function simPut(card: number, reader: number): string {
  return execFileSync(join(repoRoot, 'scripts', 'sim.sh'), ['put', String(card + cardOffset), String(reader + cardOffset)], {
    encoding: 'utf8',
  }).trim();
}

export function simStatus(card: number): string {
  return execFileSync('python3', ['-c', CONTROL_SNIPPET, join(repoRoot, '.run', `card-${card + cardOffset}.sock`), 'status'], {
    encoding: 'utf8',
  }).trim();
}

const CONTROL_SNIPPET = `
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\\n").encode())
print(s.recv(4096).decode().strip())
`;
