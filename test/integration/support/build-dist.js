// jest globalSetup of the integration project (plain JS: it runs before any transform).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function buildDist() {
  execFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'build.sh'), { stdio: 'inherit' });
}
