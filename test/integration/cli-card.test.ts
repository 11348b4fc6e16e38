/**
 * The single-card `twincard` commands as a user runs them (the built dist/, a child process) against the
 * reference applet on virtual cards, through pcsclite -> pcscd -> vpcd -> jCardSim: personalize, info,
 * attest, create-wallet, sign, the access-code lock-out, --json shapes, and that --trace never shows a secret.
 * Uses test cards 0 and 1.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex } from '../../src/apdu/index.js';
import { parseDerSignature, publicKeyOf } from '../../src/protocol/crypto.js';
import { PcscService } from '../../src/readers/index.js';
import { insertCard, openSessionOn, pullCard } from './support/backup-cards.js';
import { openCard, testCardId } from './support/cards.js';
import { cardOffset, readerForCard, repoRoot, sim, simPut } from './support/sim.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
const TEST_PUBLIC = join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem');
const OTHER_PUBLIC = join(repoRoot, 'fixtures', 'test-manufacturer', 'other-public-key.pem');
const OTHER_PRIVATE = join(repoRoot, 'fixtures', 'test-manufacturer', 'other-private-key.pem');

/** `sim.sh root K PEM`: card k wiped and installed again with PEM's key as its root (protocol.md 6, Installation). */
function simRoot(k: number, pem: string): void {
  execFileSync(join(repoRoot, 'scripts', 'sim.sh'), ['root', String(k + cardOffset), pem, '--force'], { encoding: 'utf8' });
}
const work = mkdtempSync(join(tmpdir(), 'twincard-cli-card-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A clean environment: no PIN, no trace, no user config that could trust the TEST root behind our back. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1', TWINCARD_CONFIG: join(work, 'no-config.json') };
  delete base['TWINCARD_PIN'];
  delete base['TWINCARD_READER'];
  return { ...base, ...extra };
}

function twincard(args: readonly string[], extra: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], { env: env(extra), encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const on = (k: number) => ['--reader', readerForCard(k)];
// The type argument names the document the test expects; the assertions check it.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- see above
const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

interface Info {
  reader: string;
  version: number;
  state: string;
  cardId: string | null;
  walletPublicKey: string | null;
  walletOrigin: string | null;
  pinTriesLeft: number;
  signCounter: number;
  backupCount: number;
  backupCardIds: string[];
  primaryId: string | null;
  certificate: string | null;
}

interface Signed {
  reader: string;
  cardId: string;
  digest: string;
  walletPublicKey: string;
  r: string;
  s: string;
  der: string;
  cardSignedHighS: boolean;
  signCounter: number;
}

const PIN = '9137264850';
const NEW_PIN = '5550001234';
const PIN_HEX = toHex(new TextEncoder().encode(PIN));
const idA = toHex(testCardId(0, 'CLIA'));
const idB = toHex(testCardId(1, 'CLIB'));

describe('a card from the factory to a signature', () => {
  beforeAll(() => {
    sim('wipe', 0);
    sim('wipe', 1);
  });

  test('info on a FACTORY card: one JSON document, nulls where the card has nothing yet', () => {
    const { code, stdout, stderr } = twincard(['info', '--json', ...on(0)]);
    expect(code).toBe(0);
    expect(json<Info>(stdout)).toEqual({
      reader: readerForCard(0),
      version: 2,
      state: 'FACTORY',
      cardId: null,
      walletPublicKey: null,
      walletOrigin: null,
      pinTriesLeft: expect.any(Number),
      signCounter: 0,
      backupCount: 0,
      backupCardIds: [],
      primaryId: null,
      certificate: null,
    });
    expect(stderr).toMatch(/^state\s+FACTORY$/m);
  });

  test('attest on a FACTORY card: not genuine, NOT_PERSONALIZED, exit 6', () => {
    const { code, stdout, stderr } = twincard(['attest', '--trust-test-root', '--json', ...on(0)]);
    expect(code).toBe(6);
    expect(json<{ genuine: boolean; reason: { code: string } }>(stdout)).toMatchObject({
      genuine: false,
      reason: { code: 'NOT_PERSONALIZED' },
    });
    expect(stderr).toContain('NOT GENUINE: NOT_PERSONALIZED');
  });

  test('personalize: needs --test-manufacturer and an 8-byte id, before touching the card', () => {
    expect(twincard(['personalize', '--card-id', idA, ...on(0)])).toMatchObject({ code: 2, stdout: '' });
    const short = twincard(['personalize', '--card-id', '0102', '--test-manufacturer', '--force', ...on(0)]);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('--card-id: expected 8 bytes (16 hex digits), got 2');
    expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).state).toBe('FACTORY');
  });

  test('personalize a wiped card: FACTORY -> BLANK with the id and a certificate; a second time is refused (exit 8)', () => {
    const first = twincard(['personalize', '--card-id', idA, '--test-manufacturer', '--force', '--json', ...on(0)]);
    expect(first.code).toBe(0);
    const doc = json<{ cardId: string; state: string; identityPublicKey: string; certificate: string; manufacturer: string }>(first.stdout);
    expect(doc).toMatchObject({ cardId: idA, state: 'BLANK', manufacturer: 'TEST' });
    expect(doc.certificate).toContain(doc.identityPublicKey);

    const info = json<Info>(twincard(['info', '--json', ...on(0)]).stdout);
    expect(info).toMatchObject({ state: 'BLANK', cardId: idA, certificate: doc.certificate, walletPublicKey: null });

    const again = twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', ...on(0)]);
    expect(again.code).toBe(8);
    expect(again.stderr).toContain('personalize: the card is BLANK, expected FACTORY');
    expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).cardId).toBe(idA);
  });

  test('two cards personalized apart get different identity keys (the simulator RNG is not a constant)', () => {
    const b = twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', '--json', ...on(1)]);
    expect(b.code).toBe(0);
    const a = json<Info>(twincard(['info', '--json', ...on(0)]).stdout);
    const keyOf = (certificate: string) => certificate.slice(2 * 15, 2 * (15 + 65)); // after 100101 0208<id> 0A41
    expect(keyOf(json<Info>(twincard(['info', '--json', ...on(1)]).stdout).certificate!)).not.toBe(keyOf(a.certificate!));
  });

  test('attest: a TEST card is NOT genuine by default (exit 6, the exact reason)', () => {
    const { code, stdout, stderr } = twincard(['attest', '--json', ...on(0)]);
    expect(code).toBe(6);
    expect(json(stdout)).toEqual({
      reader: readerForCard(0),
      genuine: false,
      cardId: idA,
      state: 'BLANK',
      root: null,
      identityPublicKey: null,
      reason: { code: 'CERTIFICATE_UNTRUSTED', message: 'no manufacturer root is trusted (test cards need --trust-test-root)' },
    });
    expect(stderr).toContain('NOT GENUINE: CERTIFICATE_UNTRUSTED: no manufacturer root is trusted');
  });

  test('attest --trust-test-root: genuine, and says it is only a TEST card', () => {
    const { code, stdout, stderr } = twincard(['attest', '--trust-test-root', '--json', ...on(0)]);
    expect(code).toBe(0);
    const doc = json<{ genuine: boolean; cardId: string; root: { test: boolean; label: string }; identityPublicKey: string }>(stdout);
    expect(doc).toMatchObject({ genuine: true, cardId: idA, root: { test: true } });
    expect(stderr).toMatch(/^GENUINE: card /m);
    expect(stderr).toContain('TEST manufacturer, whose private key is published');
  });

  test('the config file can trust the TEST root; a typo in it is an error, not a silent default', () => {
    const config = join(work, 'config.json');
    writeFileSync(config, JSON.stringify({ trustTestRoot: true }));
    expect(twincard(['attest', ...on(0)], { TWINCARD_CONFIG: config }).code).toBe(0);
    writeFileSync(config, JSON.stringify({ trustTestRooot: true }));
    const typo = twincard(['attest', ...on(0)], { TWINCARD_CONFIG: config });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown key "trustTestRooot"');
  });

  test('attest --root: the TEST key given as a PEM file is still flagged as TEST', () => {
    const pem = join(repoRoot, 'fixtures', 'test-manufacturer', 'public-key.pem');
    const { code, stdout } = twincard(['attest', '--root', pem, '--json', ...on(0)]);
    expect(code).toBe(0);
    expect(json<{ root: { test: boolean } }>(stdout).root.test).toBe(true);
    const bad = twincard(['attest', '--root', join(work, 'missing.pem'), ...on(0)]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('missing.pem');
  });

  test('create-wallet with a wrong-size code is refused before the card is touched', () => {
    const { code, stderr } = twincard(['create-wallet', '--trust-test-root', ...on(0)], { TWINCARD_PIN: '123' });
    expect(code).toBe(2);
    expect(stderr).toContain('TWINCARD_PIN: an access code is 4..16 bytes, got 3');
    expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).state).toBe('BLANK');
  });

  test('create-wallet without any code source and no terminal says how to give one', () => {
    const { code, stderr } = twincard(['create-wallet', '--trust-test-root', ...on(0)]);
    expect(code).toBe(2);
    expect(stderr).toContain('no access code: set TWINCARD_PIN, pass --pin-file PATH');
  });

  test('create-wallet via TWINCARD_PIN, traced: the code never shows, its length does', () => {
    const { code, stdout, stderr } = twincard(['create-wallet', '--trust-test-root', '--trace', '--json', ...on(0)], { TWINCARD_PIN: PIN });
    expect(code).toBe(0);
    const doc = json<{ cardId: string; state: string; walletPublicKey: string }>(stdout);
    expect(doc).toMatchObject({ cardId: idA, state: 'WALLET' });
    // the code travels only wrapped in the session (CLA 84): ciphertext, never the code itself
    expect(stderr).toContain('>> 80700000 43 1D41');
    expect(stderr).toContain('>> 84300000 34 [wrapped] 00000001');
    expect(stderr).not.toContain('>> 80300000');
    for (const output of [stdout, stderr]) {
      expect(output.toUpperCase()).not.toContain(PIN_HEX);
      expect(output).not.toContain(PIN);
    }
    const info = json<Info>(twincard(['info', '--json', ...on(0)]).stdout);
    expect(info).toMatchObject({
      state: 'WALLET',
      walletPublicKey: doc.walletPublicKey,
      walletOrigin: 'created',
      pinTriesLeft: 5,
      signCounter: 0,
    });
    // The wallet key is its own key pair, not the identity key again.
    expect(info.certificate).not.toContain(doc.walletPublicKey);
    expect(twincard(['create-wallet', '--trust-test-root', ...on(0)], { TWINCARD_PIN: PIN })).toMatchObject({ code: 8 });
  });

  test('sign: VERIFY_PIN + SIGN, low-S, verifies with @noble/curves under the wallet key; the counter counts', () => {
    const digest = sha256(new TextEncoder().encode('twincard cli-card test'));
    const first = twincard(['sign', '--trust-test-root', '--digest', toHex(digest), '--json', ...on(0)], { TWINCARD_PIN: PIN });
    expect(first.code).toBe(0);
    const a = json<Signed>(first.stdout);
    const second = json<Signed>(
      twincard(['sign', '--trust-test-root', '--digest', toHex(digest), '--json', ...on(0)], { TWINCARD_PIN: PIN }).stdout,
    );
    for (const [signed, counter] of [
      [a, 1],
      [second, 2],
    ] as const) {
      expect(signed).toMatchObject({ cardId: idA, digest: toHex(digest), signCounter: counter });
      const compact = fromHex(signed.r + signed.s);
      const publicKey = fromHex(signed.walletPublicKey);
      expect(secp256k1.verify(compact, digest, publicKey, { prehash: false, lowS: true, format: 'compact' })).toBe(true);
      expect(secp256k1.verify(fromHex(signed.der), digest, publicKey, { prehash: false, lowS: true, format: 'der' })).toBe(true);
      const { s } = parseDerSignature(fromHex(signed.der));
      expect(s <= secp256k1.Point.CURVE().n / 2n).toBe(true);
      // A nonce equal to the private key would make r the X of the public key (and give the key away).
      expect(signed.r).not.toBe(signed.walletPublicKey.slice(2, 66));
    }
    expect(second.r).not.toBe(a.r); // a fresh nonce each time
    expect(first.stderr).toMatch(/^r {6}[0-9A-F]{64}$/m);
    expect(first.stderr).toMatch(/^der {4}30[0-9A-F]+$/m);
  });

  test('sign --trace with TWINCARD_TRACE=1: VERIFY_PIN and SIGN travel wrapped, the code never shows', () => {
    const digest = toHex(sha256(new TextEncoder().encode('traced')));
    const { code, stdout, stderr } = twincard(['sign', '--trust-test-root', '--digest', digest, ...on(0)], {
      TWINCARD_PIN: PIN,
      TWINCARD_TRACE: '1',
    });
    expect(code).toBe(0);
    expect(stderr).toContain('>> 84200000 34 [wrapped] 00000001');
    expect(stderr).not.toContain('>> 80200000');
    expect(stderr).toContain('>> 84320000 54 [wrapped] 00000002'); // SIGN wrapped too (the 32-byte digest: 84 bytes wrapped)
    expect((stdout + stderr).toUpperCase()).not.toContain(PIN_HEX);
  });

  test('sign --expect-pubkey for another wallet: refused before the code is sent (no try spent)', () => {
    const other = toHex(publicKeyOf(secp256k1.utils.randomSecretKey()));
    const { code, stderr } = twincard(['sign', '--trust-test-root', '--digest', '00'.repeat(32), '--expect-pubkey', other, ...on(0)], {
      TWINCARD_PIN: '0000',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('the access code was not sent');
    expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).pinTriesLeft).toBe(5);
  });

  test('sign argument errors are usage errors: digest size, bad hex, a PIN file others can read', () => {
    expect(twincard(['sign', '--trust-test-root', '--digest', 'AB', ...on(0)], { TWINCARD_PIN: PIN }).stderr).toContain(
      '--digest: expected 32 bytes (64 hex digits), got 1',
    );
    expect(twincard(['sign', '--trust-test-root', '--digest', 'zz', ...on(0)], { TWINCARD_PIN: PIN }).code).toBe(2);
    const file = join(work, 'pin-open');
    writeFileSync(file, `${PIN}\n`);
    chmodSync(file, 0o644);
    const open = twincard(['sign', '--trust-test-root', '--digest', '00'.repeat(32), '--pin-file', file, ...on(0)]);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('mode 644 lets group or others read or write it; chmod 600');
    chmodSync(file, 0o600);
    expect(twincard(['sign', '--trust-test-root', '--digest', '00'.repeat(32), '--pin-file', file, ...on(0)]).code).toBe(0);
  });

  test('wrong access code: exit 7 with the tries left, down to the lock-out; then even the right code is blocked', () => {
    const digest = '11'.repeat(32);
    for (const left of [4, 3, 2, 1]) {
      const { code, stderr } = twincard(['sign', '--trust-test-root', '--digest', digest, ...on(0)], { TWINCARD_PIN: '0000' });
      expect(code).toBe(7);
      expect(stderr).toContain(`wrong access code: ${left} ${left === 1 ? 'try' : 'tries'} left`);
      expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).pinTriesLeft).toBe(left);
    }
    const last = twincard(['sign', '--trust-test-root', '--digest', digest, ...on(0)], { TWINCARD_PIN: '0000' });
    expect(last.code).toBe(7);
    expect(last.stderr).toContain('the access code is blocked');
    const right = twincard(['sign', '--trust-test-root', '--digest', digest, ...on(0)], { TWINCARD_PIN: PIN });
    expect(right.code).toBe(7);
    expect(right.stderr).toContain('the access code is blocked');
    expect(right.stderr).toContain('SW=0x6983');
    const info = twincard(['info', '--json', ...on(0)]);
    expect(json<Info>(info.stdout)).toMatchObject({ pinTriesLeft: 0, signCounter: 4 });
    expect(info.stderr).toContain('0 of 5 tries left (BLOCKED)');
  });
});

describe('cards that are not what they claim', () => {
  test(
    'a card installed with the OTHER root: personalized with --manufacturer-key, refused by ' +
      'a host that trusts only TEST (exit 6, no session opened); --root that key trusts it',
    () => {
      simRoot(1, OTHER_PUBLIC);
      try {
        const wrongKey = twincard(['personalize', '--card-id', toHex(testCardId(1, 'OTHR')), '--test-manufacturer', '--force', ...on(1)]);
        expect(wrongKey.code).toBe(8); // the card checks the signature under the root it was installed with
        expect(wrongKey.stderr).toContain('9A01');
        expect(
          twincard(['personalize', '--card-id', toHex(testCardId(1, 'OTHR')), '--manufacturer-key', OTHER_PRIVATE, '--force', ...on(1)])
            .code,
        ).toBe(0);
        const refused = twincard(['attest', '--trust-test-root', '--json', ...on(1)]);
        expect(refused.code).toBe(6);
        expect(json<{ reason: { code: string; message: string } }>(refused.stdout).reason).toEqual({
          code: 'CERTIFICATE_UNTRUSTED',
          message: 'the certificate does not verify under any of the 1 trusted root(s)',
        });
        const created = twincard(['create-wallet', '--trust-test-root', '--trace', ...on(1)], { TWINCARD_PIN: PIN, TWINCARD_TRACE: '1' });
        expect(created.code).toBe(6);
        expect(created.stderr).toContain('nothing was sent to the card');
        expect(created.stderr).not.toContain('>> 80700000');
        const trusted = twincard(['attest', '--root', OTHER_PUBLIC, '--json', ...on(1)]);
        expect(trusted.code).toBe(0);
        expect(json<{ root: { label: string; test: boolean } }>(trusted.stdout).root).toEqual({ label: OTHER_PUBLIC, test: false });
        const createdTrusted = twincard(['create-wallet', '--root', OTHER_PUBLIC, ...on(1)], { TWINCARD_PIN: PIN });
        expect(createdTrusted.code).toBe(0);
        expect(createdTrusted.stderr).not.toContain('WARNING');
      } finally {
        simRoot(1, TEST_PUBLIC);
      }
    },
  );

  test('sign on a card without a wallet: refused by state (exit 8), no code sent', () => {
    sim('wipe', 1);
    expect(twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', ...on(1)]).code).toBe(0);
    const { code, stderr } = twincard(['sign', '--trust-test-root', '--digest', '00'.repeat(32), '--trace', ...on(1)], {
      TWINCARD_PIN: PIN,
    });
    expect(code).toBe(8);
    expect(stderr).toContain('sign: the card is BLANK, expected WALLET or BACKUP_EXPORTING or BACKED_UP');
    expect(stderr).not.toContain('>> 80200000');
  });
});

describe('waiting for a card', () => {
  test('an empty reader prompts once, and the command goes on when the card is inserted (reader events)', async () => {
    const service = PcscService.open();
    try {
      // pcscd notices a pull on its next poll: start the command only once the reader is empty for pcscd too.
      await pullCard(service, 1);
      const child = spawn(process.execPath, [CLI, 'info', '--json', '--wait', '15', ...on(1)], { env: env() });
      let stderr = '';
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const prompted = new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (stderr.includes('Present a card')) resolve();
        });
        void exited.then((code) => reject(new Error(`exited ${String(code)} without prompting: ${stderr}`)));
      });
      await prompted;
      // Like a person, tap again if the reader did not see the card (insertCard: a known pcscd/vpcd miss).
      await insertCard(service, 1);
      const insertedAt = Date.now();
      expect(await exited).toBe(0);
      expect(Date.now() - insertedAt).toBeLessThan(5000);
      expect(stderr.split('Present a card').length - 1).toBe(1);
      expect(stderr).toContain(`Present a card to ${readerForCard(1)} (waiting 15 s)`);
      expect(json<Info>(stdout).reader).toBe(readerForCard(1));
    } finally {
      sim('insert', 1);
      service.close();
    }
  }, 30_000);

  test('no card within --wait: exit 5', async () => {
    const service = PcscService.open();
    try {
      await pullCard(service, 1);
      const { code, stderr } = twincard(['info', '--wait', '1', ...on(1)]);
      expect(code).toBe(5);
      expect(stderr).toContain('Present a card');
    } finally {
      await insertCard(service, 1);
      service.close();
    }
  });
});

/**
 * Runs the CLI in a real pseudo-terminal (python3's pty): each answer is typed once its prompt has appeared.
 * A terminal in cooked mode would echo what is typed back into this output, so "not in the output" proves
 * the access code was read without echo.
 */
const PTY_DRIVER = `
import json, os, pty, select, sys, time
argv, answers, env = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, env)
out, at, deadline = b"", 0, time.time() + 30
while time.time() < deadline:
    if answers and out.find(answers[0][0].encode(), at) >= 0:
        at = out.find(answers[0][0].encode(), at) + len(answers[0][0])
        os.write(fd, answers.pop(0)[1].encode())
    ready, _, _ = select.select([fd], [], [], 0.2)
    if not ready:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
_, status = os.waitpid(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "output": out.decode("utf8", "replace")}))
`;

function onTerminal(args: readonly string[], answers: readonly [prompt: string, typed: string][]) {
  const result = spawnSync(
    'python3',
    ['-c', PTY_DRIVER, JSON.stringify([process.execPath, CLI, ...args]), JSON.stringify(answers), JSON.stringify(env())],
    {
      encoding: 'utf8',
      timeout: 40_000,
    },
  );
  if (result.status !== 0) throw new Error(`pty driver failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { code: number; output: string };
}

describe('the access code on a terminal', () => {
  const TYPED = '8642097531';
  beforeAll(() => {
    sim('wipe', 1);
    expect(twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', ...on(1)]).code).toBe(0);
  });

  test('personalize on a terminal asks first: "n" sends nothing (exit 2, still FACTORY), "y" personalizes', () => {
    sim('wipe', 1);
    const question = `Personalize the card as ${idB}, certified by the TEST manufacturer? This cannot be undone [y/N] `;
    const no = onTerminal(['personalize', '--card-id', idB, '--test-manufacturer', ...on(1)], [[question, 'n\r']]);
    expect(no.code).toBe(2);
    expect(no.output).toContain('nothing was sent to the card');
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout).state).toBe('FACTORY');
    const yes = onTerminal(['personalize', '--card-id', idB, '--test-manufacturer', ...on(1)], [[question, 'y\r']]);
    expect(yes.code).toBe(0);
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout)).toMatchObject({ state: 'BLANK', cardId: idB });
  });

  test('create-wallet: two different codes typed: refused (exit 2), the card stays BLANK', () => {
    const { code, output } = onTerminal(
      ['create-wallet', '--trust-test-root', ...on(1)],
      [
        ['New access code (4..16 characters): ', `${TYPED}\r`],
        ['again: ', '1357924680\r'],
      ],
    );
    expect(code).toBe(2);
    expect(output).toContain('the two access codes differ');
    expect(output).not.toContain(TYPED);
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout).state).toBe('BLANK');
  });

  test('create-wallet asks twice without echo; sign asks once; the code works', () => {
    const created = onTerminal(
      ['create-wallet', '--trust-test-root', ...on(1)],
      [
        ['New access code (4..16 characters): ', `${TYPED}\r`],
        ['again: ', `${TYPED}\r`],
      ],
    );
    expect(created.code).toBe(0);
    expect(created.output).toContain('wallet created on card');
    expect(created.output).not.toContain(TYPED);
    const signed = onTerminal(['sign', '--trust-test-root', '--digest', '42'.repeat(32), ...on(1)], [['Access code: ', `${TYPED}\r`]]);
    expect(signed.code).toBe(0);
    expect(signed.output).toContain('verified under the wallet key');
    expect(signed.output).not.toContain(TYPED);
  });

  test('Ctrl-C at the prompt cancels (exit 2) and nothing reaches the card', () => {
    const { code, output } = onTerminal(
      ['sign', '--trust-test-root', '--digest', '42'.repeat(32), ...on(1)],
      [['Access code: ', '12\u0003']],
    );
    expect(code).toBe(2);
    expect(output).toContain('access code entry cancelled');
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout)).toMatchObject({ pinTriesLeft: 5, signCounter: 1 });
  });
});

test('apdu --trace: a raw VERIFY_PIN to the applet and an ISO VERIFY to another applet are redacted too', () => {
  const secret = '3938373635343332';
  const { code, stderr } = twincard([
    'apdu',
    '--trace',
    ...on(0),
    '00A404000AF07477696E636172640100',
    `8020000008${secret}`,
    '00A404000AF07477696E63617264FE00',
    `0020008008${secret}`,
  ]);
  expect(code).toBe(0);
  expect(stderr).toContain('>> 80200000 08 [redacted 8 bytes]');
  expect(stderr).toContain('>> 00200080 08 [redacted 8 bytes]');
  expect(stderr).not.toContain(secret);
});

describe('the v2 backup through the CLI: one reader at a desk, then info and cancel-backup', () => {
  const journal = join(work, 'backup-journal.json');
  const pinEnv = { TWINCARD_TEST_BACKUP_PIN: PIN };
  let wallet: string;

  beforeAll(() => {
    simPut(0, 0);
    simPut(1, 1);
    sim('wipe', 0);
    sim('wipe', 1);
    expect(twincard(['personalize', '--card-id', idA, '--test-manufacturer', '--force', ...on(0)]).code).toBe(0);
    expect(twincard(['personalize', '--card-id', idB, '--test-manufacturer', '--force', ...on(1)]).code).toBe(0);
    const created = twincard(['create-wallet', '--trust-test-root', '--json', ...on(0)], { TWINCARD_PIN: PIN });
    expect(created.code).toBe(0);
    wallet = json<{ walletPublicKey: string }>(created.stdout).walletPublicKey;
  });
  afterAll(() => {
    // Every card back in its own reader, for the files that run next.
    simPut(0, 0);
    simPut(1, 1);
  });

  test('tap mode on ONE reader: the primary lying there is refused, then 3 taps as asked (card 1, card 0, card 1)', async () => {
    // The person's desk: one reader (test card 0's), the primary on it; card 1 next to it.
    const child = spawn(
      process.execPath,
      [
        CLI,
        'backup',
        ...on(0),
        '--backups',
        '1',
        '--trust-test-root',
        '--pin-env',
        'TWINCARD_TEST_BACKUP_PIN',
        '--journal',
        journal,
        '--json',
      ],
      { env: env(pinEnv) },
    );
    let stderr = '';
    let stdout = '';
    const prompts: string[] = [];
    // What the person puts on the reader when asked (by the prompt's first words).
    const moves: ReadonlyArray<[string, number]> = [
      ['Tap 1 of 3: backup card 1 of 1 (a blank card) (again)', 1],
      ['Tap 2 of 3: the primary card (the one that holds the wallet)', 0],
      ['Tap 3 of 3: backup card 1 of 1 again (it receives the wallet)', 1],
    ];
    let next = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      for (const line of chunk.split('\n')) if (line.startsWith('Tap ')) prompts.push(line);
      const move = moves[next];
      if (move !== undefined && stderr.includes(move[0])) {
        next += 1;
        simPut(move[1], 0);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(prompts).toEqual([
      'Tap 1 of 3: backup card 1 of 1 (a blank card)',
      'Tap 1 of 3: backup card 1 of 1 (a blank card) (again)',
      'Tap 2 of 3: the primary card (the one that holds the wallet)',
      'Tap 3 of 3: backup card 1 of 1 again (it receives the wallet)',
    ]);
    expect(stderr).toContain(`refused: card ${idA} holds a wallet (WALLET)`);
    expect(stderr).toContain('3 taps, the backup cards first');
    expect(json<{ walletPublicKey: string; primary: string; backups: string[] }>(stdout)).toMatchObject({
      walletPublicKey: wallet,
      primary: idA,
      backups: [idB],
    });
  }, 60_000);

  test("info shows the primary's backup cards by id and the backup card's primary, as text and --json", () => {
    simPut(0, 0);
    simPut(1, 1);
    const primary = twincard(['info', '--json', ...on(0)]);
    expect(json<Info>(primary.stdout)).toMatchObject({
      state: 'BACKED_UP',
      walletOrigin: 'created',
      backupCount: 1,
      backupCardIds: [idB],
      primaryId: null,
    });
    expect(primary.stderr).toMatch(new RegExp(`^backup cards  1 \\(${idB}; final\\)$`, 'm'));
    const backup = twincard(['info', '--json', ...on(1)]);
    expect(json<Info>(backup.stdout)).toMatchObject({
      state: 'BACKED_UP',
      walletOrigin: 'imported',
      walletPublicKey: wallet,
      backupCount: 0,
      backupCardIds: [],
      primaryId: idA,
    });
    expect(backup.stderr).toContain(`wallet origin imported from primary card ${idA}`);
  });

  test('cancel-backup: a finished backup has nothing to cancel (exit 8, nothing sent), on either card', () => {
    for (const k of [0, 1]) {
      const { code, stderr } = twincard(['cancel-backup', '--journal', join(work, 'none.json'), '--trace', ...on(k)]);
      expect(code).toBe(8);
      expect(stderr).toContain('is BACKED_UP: its backup is finished, there is nothing to cancel; nothing was sent to it');
      expect(stderr).not.toContain('>> 80680000');
    }
  });

  test('sign on a TEST card: the warning is printed EACH time; without --trust-test-root: exit 6 and no session', () => {
    simPut(0, 0);
    for (let i = 0; i < 2; i++) {
      const signed = twincard(['sign', '--trust-test-root', '--digest', '11'.repeat(32), ...on(0)], { TWINCARD_PIN: PIN });
      expect(signed.code).toBe(0);
      expect(signed.stderr).toContain(`WARNING: card ${idA} is certified by the TEST manufacturer root`);
    }
    const untrusted = twincard(['sign', '--digest', '11'.repeat(32), '--trace', ...on(0)], { TWINCARD_PIN: PIN, TWINCARD_TRACE: '1' });
    expect(untrusted.code).toBe(6);
    expect(untrusted.stderr).not.toContain('>> 80700000');
    expect(untrusted.stderr).not.toContain('>> 8420');
  });

  test('sign traced: OPEN_SESSION, then VERIFY_PIN and SIGN wrapped (CLA 84), never plain', () => {
    const { code, stderr } = twincard(['sign', '--trust-test-root', '--digest', '22'.repeat(32), '--trace', ...on(0)], {
      TWINCARD_PIN: PIN,
      TWINCARD_TRACE: '1',
    });
    expect(code).toBe(0);
    const sent = stderr
      .split('\n')
      .filter((l) => l.startsWith('>> '))
      .map((l) => l.slice(3, 11));
    expect(sent).toEqual(expect.arrayContaining(['80700000', '84200000', '84320000']));
    expect(sent.indexOf('80700000')).toBeLessThan(sent.indexOf('84200000'));
    expect(sent).not.toContain('80200000');
    expect(sent).not.toContain('80320000');
    expect(stderr).not.toContain(PIN_HEX);
  });

  test('change-code over the set on ONE reader: this card, then the other by id; each keeps its own code', async () => {
    simPut(0, 0);
    const child = spawn(process.execPath, [CLI, 'change-code', '--trust-test-root', '--all-cards', '--wait', '20', '--json', ...on(0)], {
      env: env({ TWINCARD_PIN: PIN, TWINCARD_NEW_PIN: NEW_PIN }),
    });
    let stderr = '';
    let stdout = '';
    let moved = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (!moved && stderr.includes(`Present card ${idB}`)) {
        moved = true;
        simPut(1, 0);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(json<{ changed: string[]; unchanged: string[] }>(stdout)).toEqual({ changed: [idA, idB], unchanged: [] });
    expect(stderr).toContain('each card keeps its own access code');
    expect(stderr).toContain(`access code changed on card ${idA} (this card only)`);
    expect(stderr).toContain(`access code changed on card ${idB} (this card only)`);
    simPut(0, 0);
    simPut(1, 1);
    for (const k of [0, 1]) {
      expect(twincard(['sign', '--trust-test-root', '--digest', '33'.repeat(32), ...on(k)], { TWINCARD_PIN: NEW_PIN }).code).toBe(0);
    }
    // without --all-cards and without a terminal: only the card presented
    const alone = twincard(['change-code', '--trust-test-root', '--json', ...on(1)], { TWINCARD_PIN: NEW_PIN, TWINCARD_NEW_PIN: PIN });
    expect(alone.code).toBe(0);
    expect(json<{ changed: string[]; unchanged: string[] }>(alone.stdout)).toEqual({ changed: [idB], unchanged: [idA] });
    expect(twincard(['sign', '--trust-test-root', '--digest', '33'.repeat(32), ...on(1)], { TWINCARD_PIN: PIN }).code).toBe(0);
    const oldOnA = twincard(['sign', '--trust-test-root', '--digest', '33'.repeat(32), ...on(0)], { TWINCARD_PIN: PIN });
    expect(oldOnA.code).toBe(7); // card A kept NEW_PIN: each card its own code
  }, 60_000);

  test('reset: not confirmed without a terminal (exit 2, nothing sent); --force erases; says what is known of the other copies', () => {
    simPut(0, 0);
    simPut(1, 1);
    const asked = twincard(['reset', '--trust-test-root', '--trace', ...on(1)], { TWINCARD_PIN: PIN, TWINCARD_TRACE: '1' });
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain(`card ${idB} is a backup card of primary ${idA}`);
    expect(asked.stderr).not.toContain('>> 80700000');
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout).state).toBe('BACKED_UP');
    const wrong = twincard(['reset', '--trust-test-root', '--force', ...on(1)], { TWINCARD_PIN: '00000000' });
    expect(wrong.code).toBe(7);
    const reset = twincard(['reset', '--trust-test-root', '--force', '--json', ...on(1)], { TWINCARD_PIN: PIN });
    expect(reset.code).toBe(0);
    expect(json<{ cardId: string; state: string; erased: string }>(reset.stdout)).toEqual({
      reader: readerForCard(1),
      cardId: idB,
      state: 'BLANK',
      erased: wallet,
    });
    expect(json<Info>(twincard(['info', '--json', ...on(1)]).stdout)).toMatchObject({ state: 'BLANK', cardId: idB, walletPublicKey: null });
    const primary = twincard(['reset', '--trust-test-root', '--force', ...on(0)], { TWINCARD_PIN: NEW_PIN });
    expect(primary.code).toBe(0);
    expect(primary.stderr).toContain(`its backup cards ${idB} hold copies`);
  });

  test('reset: a primary in BACKUP_EXPORTING is refused before anything is sent; a lone primary is named the only copy', async () => {
    simPut(0, 0);
    simPut(1, 1);
    expect(twincard(['create-wallet', '--trust-test-root', ...on(0)], { TWINCARD_PIN: PIN }).code).toBe(0);
    const lone = twincard(['reset', '--trust-test-root', ...on(0)], { TWINCARD_PIN: PIN });
    expect(lone.code).toBe(2); // not confirmed
    expect(lone.stderr).toContain(`card ${idA} is the only card known to hold this wallet`);
    // one blob out: prepare card 1, export from card 0 through the library (a session, then the wrapped export)
    const service = PcscService.open();
    try {
      const b = await openCard(service, 1);
      let offer: Awaited<ReturnType<typeof b.card.backupPrepare>>;
      let certificate: Uint8Array;
      try {
        await b.card.select();
        certificate = (await b.card.read()).certificate!;
        offer = await b.card.backupPrepare();
      } finally {
        await b.close();
      }
      const p = await openCard(service, 0);
      try {
        await p.card.select();
        await openSessionOn(p.card);
        await p.card.verifyPin(new TextEncoder().encode(PIN));
        await p.card.backupExport({ certificate, ...offer });
      } finally {
        await p.close();
      }
    } finally {
      service.close();
    }
    const refused = twincard(['reset', '--trust-test-root', '--force', '--trace', ...on(0)], { TWINCARD_PIN: PIN, TWINCARD_TRACE: '1' });
    expect(refused.code).toBe(8);
    expect(refused.stderr).toContain('BACKUP_EXPORTING');
    expect(refused.stderr).toContain('twincard backup --resume');
    expect(refused.stderr).not.toContain('>> 80700000');
    expect(refused.stderr).not.toContain('>> 8428');
    expect(json<Info>(twincard(['info', '--json', ...on(0)]).stdout).state).toBe('BACKUP_EXPORTING');
  });
});

describe('a card of the OTHER root and cards of the TEST root cannot back each other up (9A01 both ways)', () => {
  afterAll(() => {
    simRoot(1, TEST_PUBLIC);
    simPut(0, 0);
    simPut(1, 1);
  });

  test("each card refuses the other's certificate at BACKUP_EXPORT", async () => {
    simPut(0, 0);
    simPut(1, 1);
    sim('wipe', 0);
    simRoot(1, OTHER_PUBLIC);
    expect(twincard(['personalize', '--card-id', idA, '--test-manufacturer', '--force', ...on(0)]).code).toBe(0);
    expect(twincard(['personalize', '--card-id', idB, '--manufacturer-key', OTHER_PRIVATE, '--force', ...on(1)]).code).toBe(0);
    expect(twincard(['create-wallet', '--trust-test-root', ...on(0)], { TWINCARD_PIN: PIN }).code).toBe(0);
    expect(twincard(['create-wallet', '--root', OTHER_PUBLIC, ...on(1)], { TWINCARD_PIN: PIN }).code).toBe(0);
    const service = PcscService.open();
    try {
      // a blank card of each root to offer: card 0 offers itself after a reset would lose its wallet, so each
      // primary is offered the OTHER card's certificate with a prepare offer signed by a key it does not certify
      const certOf = async (k: number): Promise<Uint8Array> => {
        const c = await openCard(service, k);
        try {
          await c.card.select();
          return (await c.card.read()).certificate!;
        } finally {
          await c.close();
        }
      };
      const certA = await certOf(0);
      const certB = await certOf(1);
      const offer = { ephemeralKey: publicKeyOf(fromHex('55'.repeat(32))), signature: fromHex('3006020101020101') };
      for (const [k, peer] of [
        [0, certB],
        [1, certA],
      ] as const) {
        const c = await openCard(service, k);
        try {
          await c.card.select();
          await openSessionOn(c.card);
          await c.card.verifyPin(new TextEncoder().encode(PIN));
          await expect(c.card.backupExport({ certificate: peer, ...offer })).rejects.toMatchObject({ sw: 0x9a01 });
          await c.card.select();
          expect((await c.card.read()).state).toBe('WALLET'); // nothing recorded
        } finally {
          await c.close();
        }
      }
    } finally {
      service.close();
    }
  }, 60_000);
});
