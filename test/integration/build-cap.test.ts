/**
 * scripts/build-cap.sh turns CI red for what a real card would refuse: an `int` (the converter rejects it), a
 * call beyond the 3.0.4 API (javac against api_classic-3.0.4.jar fails), or no kit at all; and it builds a CAP
 * when the applet is fine. Runs the script on small applets in a scratch copy of the layout it expects (the
 * script finds its sources relative to itself). Needs the kit: JC_HOME, or ../shared/javacard-sdk as in CI.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/sim.js';

const kit = process.env['JC_HOME'] ?? join(repoRoot, '..', 'shared', 'javacard-sdk', 'jc320v25.1_kit');
const scratch = mkdtempSync(join(tmpdir(), 'twincard-cap-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function layout(name: string, appletBody: string): string {
  const root = join(scratch, name);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(join(repoRoot, 'scripts', 'build-cap.sh'), join(root, 'scripts', 'build-cap.sh'));
  for (const [pkg, cls] of [
    ['applet', 'TwincardApplet'],
    ['loopback', 'LoopbackApplet'],
  ] as const) {
    const dir = join(root, 'fixtures', 'src', 'main', 'java', 'dev', 'twincard', pkg);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${cls}.java`),
      `package dev.twincard.${pkg};
import javacard.framework.*;
import javacard.security.*;
public class ${cls} extends Applet {
  public static void install(byte[] b, short o, byte l) { new ${cls}().register(); }
  public void process(APDU apdu) { ${pkg === 'applet' ? appletBody : ''} }
}
`,
    );
  }
  return root;
}

function buildCap(root: string, env: NodeJS.ProcessEnv = { JC_HOME: kit }) {
  const result = spawnSync('bash', [join(root, 'scripts', 'build-cap.sh')], {
    env: { PATH: process.env['PATH'], ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stderr: result.stderr };
}

test('the kit is where CI puts it (or JC_HOME): without it the checks below could not run', () => {
  expect(existsSync(join(kit, 'lib', 'api_classic-3.0.4.jar'))).toBe(true);
});

test('a clean applet: exit 0, a CAP for it and for the loopback', () => {
  const root = layout('clean', 'if (selectingApplet()) return; ISOException.throwIt((short) 0x6D00);');
  const { code, stderr } = buildCap(root);
  expect(stderr).toContain('conversion completed with 0 errors');
  expect(code).toBe(0);
  for (const cap of ['twincard.cap', 'loopback.cap'])
    expect(statSync(join(root, 'fixtures', 'target', 'cap', cap)).size).toBeGreaterThan(500);
}, 60_000);

test('an int: the converter rejects it and the script exits 1 (the converter itself exits 0)', () => {
  const root = layout('int', 'int x = apdu.getBuffer()[0] * 100000; if (x > 5) ISOException.throwIt((short) 0x6A81);');
  const { code, stderr } = buildCap(root);
  expect(stderr).toMatch(/unsupported int type/);
  expect(stderr).toContain('twincard: the converter rejected dev.twincard.applet');
  expect(code).toBe(1);
  expect(existsSync(join(root, 'fixtures', 'target', 'cap', 'twincard.cap'))).toBe(false);
}, 60_000);

test('an API beyond 3.0.4 (KeyBuilder.buildKeyWithSharedDomain, 3.0.5): javac against the 3.0.4 jar fails, exit 1', () => {
  const root = layout(
    'api',
    'KeyBuilder.buildKeyWithSharedDomain(KeyBuilder.TYPE_EC_FP_PUBLIC, KeyBuilder.LENGTH_EC_FP_256, null, false);',
  );
  const { code, stderr } = buildCap(root);
  expect(stderr).toMatch(/buildKeyWithSharedDomain/);
  expect(stderr).toContain('javac against the Java Card 3.0.4 API failed');
  expect(code).toBe(1);
}, 60_000);

test('no kit: exit 1, and it says where to get one', () => {
  const root = layout('nokit', '');
  const unset = buildCap(root, {});
  expect(unset.code).toBe(1);
  expect(unset.stderr).toContain('JC_HOME is not set');
  expect(unset.stderr).toContain('https://github.com/martinpaljak/oracle_javacard_sdks');
  const wrong = buildCap(root, { JC_HOME: scratch });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain('has no lib/api_classic-3.0.4.jar');
});
