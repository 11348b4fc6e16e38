/**
 * The integration tests' handle on the virtual cards started by `scripts/sim.sh up` (the test command does
 * that before jest): reader names by card index, and the pull/insert controls.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Card K sits in slot K%2 of vpcd entry K/2; entries after the first are named "Virtual PCD <n>". */
export function readerForCard(k: number): string {
  const entry = Math.floor(k / 2);
  return `${entry === 0 ? 'Virtual PCD' : `Virtual PCD ${entry + 1}`} 00 0${k % 2}`;
}

export type SimControl = 'pull' | 'insert' | 'pull-after-next' | 'wipe';

export function sim(command: SimControl, card: number): string {
  return execFileSync(join(repoRoot, 'scripts', 'sim.sh'), [command, String(card)], { encoding: 'utf8' }).trim();
}

export function simStatus(card: number): string {
  return execFileSync('python3', ['-c', CONTROL_SNIPPET, join(repoRoot, '.run', `card-${card}.sock`), 'status'], {
    encoding: 'utf8',
  }).trim();
}

const CONTROL_SNIPPET = `
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall((sys.argv[2] + "\\n").encode())
print(s.recv(4096).decode().strip())
`;
