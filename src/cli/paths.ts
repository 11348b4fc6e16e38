/**
 * Files the CLI ships with: `scripts/sim.sh` and the TEST manufacturer key in `fixtures/test-manufacturer/`.
 * They are found from this module's own location (src/cli in a checkout under ts-jest, dist/src/cli when
 * built), never from the working directory, so `twincard` works from any folder.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The twincard checkout or package this CLI runs from: the nearest folder up from this module whose
 * package.json is named `twincard`.
 * @throws Error when there is none (a broken install)
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'twincard') return (cached = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the twincard package folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** `scripts/sim.sh` of this package. */
export function simScriptPath(): string {
  return join(packageRoot(), 'scripts', 'sim.sh');
}

/** The TEST manufacturer's private key (published: it certifies test cards only). */
export function testManufacturerKeyPath(): string {
  return join(packageRoot(), 'fixtures', 'test-manufacturer', 'private-key.pem');
}
