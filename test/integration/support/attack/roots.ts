/**
 * Manufacturer roots for I7 (docs/protocol.md section 6, "Installation"; section 9.1): the fixture's TEST root and
 * its OTHER test root (fixtures/test-manufacturer/), and `sim.sh root K PEM`, which wipes virtual card K and
 * installs the applet again with `0D 41 <root>` as its install parameters. `wipe` keeps a card's current root,
 * so whoever installs the OTHER root puts the TEST root back when done.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyPairFromPem, type KeyPair } from '../../../../src/protocol/keys.js';
import { cardOffset, repoRoot } from '../sim.js';

const dir = join(repoRoot, 'fixtures', 'test-manufacturer');
export const TEST_ROOT_PEM = join(dir, 'public-key.pem');
export const OTHER_ROOT_PEM = join(dir, 'other-public-key.pem');
export const otherRoot: KeyPair = keyPairFromPem(readFileSync(join(dir, 'other-private-key.pem'), 'utf8'));

function simSh(args: readonly string[]): string {
  return execFileSync(join(repoRoot, 'scripts', 'sim.sh'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Test card k wiped and installed again with the public key in `pem` as its root (FACTORY afterwards). */
export function installRoot(k: number, pem: string): void {
  simSh(['root', String(k + cardOffset), pem, '--force']);
}

/** What the fixture reports as test card k's root now (its output line, with the key in hex). */
export function installedRoot(k: number): string {
  return simSh(['root', String(k + cardOffset)]);
}
