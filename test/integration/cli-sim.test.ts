/**
 * `twincard sim` against the shared virtual cards, without disturbing them: status is read-only, pull /
 * insert / wipe touch only this file's test cards (0 and 1), and every `up` here uses a run folder of its own
 * and must be REFUSED because the shared pcscd (a machine-wide singleton) is not its own. Nothing here runs
 * `sim down` or `sim up` against the shared run folder.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcscService } from '../../src/readers/index.js';
import { cardOffset, readerForCard, repoRoot } from './support/sim.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const sharedRun = join(repoRoot, '.run');
const otherRun = mkdtempSync(join(tmpdir(), 'twincard-sim-run-'));
afterAll(() => rmSync(otherRun, { recursive: true, force: true }));

function twincard(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1', TWINCARD_RUN_DIR: '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

interface Status {
  runDir: string;
  pcscd: { running: boolean; pid: number | null };
  applets: string[];
  cards: {
    index: number;
    pid: number | null;
    running: boolean;
    port: number;
    reader: string;
    inReader: number | null;
    control: string | null;
    applet: string | null;
    present: boolean | null;
    root: string | null;
  }[];
  ok: boolean;
}

const status = (env: NodeJS.ProcessEnv = {}) => JSON.parse(twincard(['sim', 'status', '--json'], env).stdout) as Status;
const card = (s: Status, k: number) => s.cards.find((c) => c.index === k + cardOffset);
/**
 * Waits (on pcscd's reader events, not by polling) until pcscd reports the card in `reader` present or
 * absent: sim.sh pull/insert return when the CARD has left or joined vpcd, and pcscd notices a moment later.
 */
async function pcscdSees(reader: string, present: boolean, timeoutMs = 5000): Promise<void> {
  const service = PcscService.open();
  try {
    await service.waitForReaders({ timeoutMs: 2000 });
    const now = () => service.readers().find((r) => r.name === reader)?.cardPresent === present;
    if (now()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`pcscd did not report ${reader} ${present ? 'with' : 'without'} a card in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const off = service.on(present ? 'card-inserted' : 'card-removed', () => {
        if (!now()) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  } finally {
    service.close();
  }
}

const sharedPcscdPid = () => Number(readFileSync(join(sharedRun, 'pcscd.pid'), 'utf8').trim());

beforeAll(() => {
  // The refusal tests below would START a pcscd if none ran: make sure the shared one is there first.
  expect(existsSync('/run/pcscd/pcscd.comm')).toBe(true);
  process.kill(sharedPcscdPid(), 0);
});

test('sim status --json on the shared run folder: pcscd, every card with its reader, what pcscd sees', () => {
  const { code, stdout, stderr } = twincard(['sim', 'status', '--json']);
  const doc = JSON.parse(stdout) as Status;
  expect(doc).toMatchObject({ runDir: sharedRun, pcscd: { running: true, pid: sharedPcscdPid() } });
  // Other developers' cards on the shared sim may be restarting: the exit code follows the document.
  expect(code).toBe(doc.ok ? 0 : 5);
  expect(doc.ok).toBe(doc.cards.every((c) => c.running));
  for (const k of [0, 1]) {
    expect(card(doc, k)).toMatchObject({
      index: k + cardOffset,
      running: true,
      port: 35963 + k + cardOffset,
      reader: readerForCard(k),
      present: true,
      inReader: k + cardOffset,
      control: expect.stringMatching(/^inserted apdus=\d+/),
    });
    // Card JVMs started before the fixture had the 'applet' query answer an error: then null.
    expect([null, 'dev.twincard.applet.TwincardApplet']).toContain(card(doc, k)!.applet);
  }
  expect(stderr).toContain(`card ${String(cardOffset).padEnd(3)} pid `);
});

test('sim pull READER / insert K: pcscd sees the card leave and come back; readers agrees', async () => {
  const k = 1 + cardOffset;
  const pull = twincard(['sim', 'pull', readerForCard(1), '--json']);
  expect(pull.code).toBe(0);
  expect(JSON.parse(pull.stdout)).toEqual({ card: k, reader: readerForCard(1), action: 'pull' });
  try {
    await pcscdSees(readerForCard(1), false);
    const pulled = status();
    expect(card(pulled, 1)).toMatchObject({ present: false, control: expect.stringMatching(/^pulled/) });
    const readers = JSON.parse(twincard(['readers', '--json']).stdout) as { readers: { name: string; card: boolean }[] };
    expect(readers.readers.find((r) => r.name === readerForCard(1))?.card).toBe(false);
  } finally {
    expect(twincard(['sim', 'insert', String(k)]).code).toBe(0);
  }
  await pcscdSees(readerForCard(1), true);
  expect(card(status(), 1)).toMatchObject({ present: true, control: expect.stringMatching(/^inserted/) });
}, 20_000);

test('sim wipe K: the card is factory-fresh', () => {
  expect(twincard(['sim', 'wipe', String(cardOffset), '--force']).code).toBe(0);
  const info = twincard(['info', '--json', '--reader', readerForCard(0)]);
  expect(info.code).toBe(0);
  expect(JSON.parse(info.stdout)).toMatchObject({ state: 'FACTORY', cardId: null });
});

/** The 65-byte point of a secp256k1 public key PEM, uppercase hex (the end of its SubjectPublicKeyInfo). */
function pointHex(pem: string): string {
  const der = createPublicKey(readFileSync(pem, 'utf8')).export({ type: 'spki', format: 'der' });
  return der
    .subarray(der.length - 65)
    .toString('hex')
    .toUpperCase();
}

test('sim root K PEM: card K reinstalled with another root (protocol.md 6, Installation); status shows every root; wipe keeps it', () => {
  const testRoot = join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem');
  const otherRoot = join(repoRoot, 'fixtures', 'test-manufacturer', 'other-public-key.pem');
  const k = cardOffset;
  expect(card(status(), 0)?.root).toBe(pointHex(testRoot)); // sim up's default: the TEST manufacturer key
  try {
    const changed = twincard(['sim', 'root', String(k), otherRoot, '--force', '--json']);
    expect(changed.code).toBe(0);
    expect(JSON.parse(changed.stdout)).toMatchObject({ card: k, action: 'root', root: pointHex(otherRoot) });
    expect(card(status(), 0)?.root).toBe(pointHex(otherRoot));
    expect(card(status(), 1)?.root).toBe(pointHex(testRoot)); // only card K changed
    expect(twincard(['sim', 'wipe', String(k), '--force']).code).toBe(0);
    expect(card(status(), 0)?.root).toBe(pointHex(otherRoot));
    const info = twincard(['info', '--json', '--reader', readerForCard(0)]);
    expect(JSON.parse(info.stdout)).toMatchObject({ state: 'FACTORY' });
    const bad = twincard(['sim', 'root', String(k), join(repoRoot, 'fixtures', 'test-manufacturer', 'README.md')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a PEM public or private key/);
  } finally {
    expect(twincard(['sim', 'root', String(k), testRoot, '--force']).code).toBe(0);
  }
  expect(card(status(), 0)?.root).toBe(pointHex(testRoot));
}, 30_000);

test('sim pull of a card that does not run: exit 5, says where to look; an ambiguous reader fragment: exit 2', () => {
  const { code, stderr } = twincard(['sim', 'pull', '97']);
  expect(code).toBe(5);
  expect(stderr).toContain('card 97 is not running');
  const vague = twincard(['sim', 'pull', 'Virtual PCD']);
  expect(vague.code).toBe(2);
  expect(vague.stderr).toMatch(/readers match "Virtual PCD": be more specific/);
});

test('sim up with another run folder is refused: pcscd is one per machine, and nothing is started', () => {
  const before = readdirSync(otherRun);
  const { code, stdout, stderr } = twincard(['sim', 'up', '--cards', '2'], { TWINCARD_RUN_DIR: otherRun });
  expect(code).toBe(3);
  expect(stdout).toBe('');
  expect(stderr).toContain(`a pcscd that this run folder (${otherRun}) did not start is running (pid ${sharedPcscdPid()})`);
  expect(readdirSync(otherRun)).toEqual(before);
  expect(status().pcscd.pid).toBe(sharedPcscdPid());
});

test('scripts/sim.sh itself refuses the same (a person may run it directly)', () => {
  const result = spawnSync(join(repoRoot, 'scripts', 'sim.sh'), ['up', '--cards', '2'], {
    env: { ...process.env, TWINCARD_RUN_DIR: otherRun },
    encoding: 'utf8',
  });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(/a pcscd this script did not start is running \(pid \d+\)/);
  expect(existsSync(join(otherRun, 'pcscd.pid'))).toBe(false);
});

test('sim status of a run folder with nothing in it: exit 3, ok false', () => {
  const { code, stdout } = twincard(['sim', 'status', '--json'], { TWINCARD_RUN_DIR: otherRun });
  expect(code).toBe(3);
  expect(JSON.parse(stdout)).toEqual({
    runDir: otherRun,
    pcscd: { running: false, pid: null },
    applets: [],
    cards: [],
    readers: [],
    ok: false,
  });
});

test('sim up without java and pcscd on PATH: one message with the apt-get line, before anything starts', () => {
  const { code, stderr } = twincard(['sim', 'up'], { PATH: '/nonexistent', TWINCARD_RUN_DIR: otherRun });
  expect(code).toBe(3);
  expect(stderr).toContain('sim up: missing java (a Java 17+ runtime), pcscd');
  expect(stderr).toMatch(/Install with: sudo apt-get install default-jre-headless pcscd/);
});

test.each([
  [['--applet', 'fixtures/target/twincard-fixture.jar', '--class', 'a.B'], '--applet, --class and --aid go together'],
  [['--applet', '/nonexistent.jar', '--class', 'a.B', '--aid', 'F000000001'], '--applet /nonexistent.jar: no such file'],
  [['--applet', 'fixtures/target/twincard-fixture.jar', '--class', 'a..B', '--aid', 'F000000001'], 'not a Java class name'],
  [['--applet', 'fixtures/target/twincard-fixture.jar', '--class', 'a.B', '--aid', 'F0'], '--aid F0: an AID is 5..16 bytes of hex'],
  [['--cards', '0'], '--cards: 1..64, got 0'],
])('sim up %j is a usage error (exit 2): %s', (args, message) => {
  const result = spawnSync(process.execPath, [CLI, 'sim', 'up', ...args], {
    cwd: repoRoot,
    env: { ...process.env, TWINCARD_RUN_DIR: otherRun },
    encoding: 'utf8',
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
});

test('sim.sh up checks --applet/--class/--aid too, before it starts anything', () => {
  const run = (args: string[]) =>
    spawnSync(join(repoRoot, 'scripts', 'sim.sh'), ['up', ...args], {
      env: { ...process.env, TWINCARD_RUN_DIR: otherRun },
      encoding: 'utf8',
    });
  expect(run(['--applet', '/nonexistent.jar', '--class', 'a.B', '--aid', 'F000000001']).stderr).toContain(
    '--applet /nonexistent.jar: no such file',
  );
  expect(run(['--class', 'a.B']).stderr).toContain('--applet JAR, --class NAME and --aid HEX go together');
  const jar = join(repoRoot, 'fixtures', 'target', 'twincard-fixture.jar');
  expect(run(['--applet', jar, '--class', 'a.B', '--aid', 'F0']).stderr).toContain('--aid F0: an AID is 5..16 bytes of hex');
  expect(existsSync(join(otherRun, 'pcscd.pid'))).toBe(false);
});

/** A developer's applet in a jar of its own, compiled against jCardSim's JavaCard API (javac and jar of the JDK). */
function buildDeveloperJar(dir: string): string {
  const src = join(dir, 'src', 'dev', 'example');
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, 'HelloApplet.java'),
    `package dev.example;
import javacard.framework.*;
public class HelloApplet extends Applet {
  public static void install(byte[] b, short o, byte l) { new HelloApplet().register(); }
  public void process(APDU apdu) { if (!selectingApplet()) ISOException.throwIt((short) 0x6A81); }
}
`,
  );
  const lib = readdirSync(join(repoRoot, 'fixtures', 'target', 'lib')).find((f) => f.startsWith('jcardsim'));
  const classes = join(dir, 'classes');
  const javac = spawnSync(
    'javac',
    [
      '-source',
      '8',
      '-target',
      '8',
      '-nowarn',
      '-cp',
      join(repoRoot, 'fixtures', 'target', 'lib', lib!),
      '-d',
      classes,
      join(src, 'HelloApplet.java'),
    ],
    { encoding: 'utf8' },
  );
  expect(javac.status).toBe(0);
  const jar = join(dir, 'hello.jar');
  expect(spawnSync('jar', ['cf', jar, '-C', classes, '.'], { encoding: 'utf8' }).status).toBe(0);
  return jar;
}

test(
  'sim.sh up --applet: a class missing from the jar is refused before ' + 'a running sim would be stopped; a real one passes the checks',
  () => {
    const jar = buildDeveloperJar(join(otherRun, 'dev'));
    const run = (cls: string) =>
      spawnSync(join(repoRoot, 'scripts', 'sim.sh'), ['up', '--applet', jar, '--class', cls, '--aid', 'F000000001'], {
        env: { ...process.env, TWINCARD_RUN_DIR: otherRun },
        encoding: 'utf8',
      });
    const missing = run('dev.example.Nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain(`--applet ${jar} has no class dev.example.Nope`);
    // The right class gets past every applet check and stops only at the shared pcscd, which is not this folder's.
    const found = run('dev.example.HelloApplet');
    expect(found.status).toBe(1);
    expect(found.stderr).toMatch(/^sim: a pcscd this script did not start is running \(pid \d+\); stop it first$/m);
    expect(found.stderr).not.toContain('warning');
    expect(existsSync(join(otherRun, 'pcscd.pid'))).toBe(false);
  },
  30_000,
);
