/**
 * The card-response parser (src/protocol/card.ts) against hostile cards: sessions recorded from the reference
 * applet (test/integration/support/record-redaction.ts: a backup card's prepare, a primary's session from
 * CREATE_WALLET to BACKUP_FINALIZE, the backup card's import) replayed with ONE answer altered. The host must
 * refuse each altered answer with the typed error for that fault and name what was wrong; every answer before
 * it is a genuine card's, so each test reaches exactly the branch it names.
 */
import { TlvError } from '../../../src/apdu/index.js';
import { TwincardCard, type PrepareOffer, type SealedExport } from '../../../src/protocol/card.js';
import { parseCertificate } from '../../../src/protocol/certificate.js';
import { IsoSw } from '../../../src/protocol/constants.js';
import { publicKeyOf } from '../../../src/protocol/crypto.js';
import {
  CardRefusedError,
  CardSignatureError,
  MalformedResponseError,
  PinBlockedError,
  SessionKeyNotCertifiedError,
  WrongPinError,
} from '../../../src/protocol/errors.js';
import type { CardSession } from '../../../src/protocol/session.js';
import { seededRandom } from '../../../src/protocol/seeded-random.js';
import { ReplayTransport } from '../../../src/readers/index.js';
import { REDACTION_SEED } from '../../record/transcript-seed.js';
import { data, flipAt, recordedTranscript, refusal, setAt, withAnswer, type Answer } from './recorded.js';

const transcript = (name: string) => recordedTranscript('cli', `redaction-${name}.apdu`);
const PIN = new TextEncoder().encode('271828');
const WRONG_PIN = new TextEncoder().encode('000000');
const DIGEST = new Uint8Array(32).fill(0x5a);

/** The primary's exchanges in the recording (a1), by what they answer. */
const A1 = {
  SELECT: 0,
  READ: 1,
  OPEN_SESSION: 2,
  CREATE_WALLET: 3,
  VERIFY_PIN_WRONG: 4,
  VERIFY_PIN: 5,
  SIGN: 6,
  /** BACKUP_EXPORT's answer, first part (61 4F): 11 41 EP | 12 46 seal signature | 15 81 C1 blob... */
  BACKUP_EXPORT: 8,
  /** ... and its GET RESPONSE: the rest of the blob. */
  BACKUP_EXPORT_REST: 9,
  BACKUP_FINALIZE: 10,
} as const;

/** The backup card's prepare (b1) and, later, its import (b2, after two chained blocks). */
const B1_PREPARE = 2;
const B2_IMPORT = 3;

interface Outcome {
  readonly error: unknown;
  readonly replay: ReplayTransport;
  readonly card: TwincardCard;
  readonly session: CardSession | undefined;
}

/** The b1 session as recorded: what BACKUP_EXPORT hands the primary. */
async function prepareBackup(text = transcript('b1')): Promise<{ certificate: Uint8Array; offer: PrepareOffer }> {
  const card = new TwincardCard(new ReplayTransport(text));
  await card.select();
  const info = await card.read();
  return { certificate: info.certificate!, offer: await card.backupPrepare() };
}

/**
 * Drives the primary as the recorder did, over `text`; the first error ends the run and is returned. The
 * recorded wrong code's 63C4 is expected; any other answer to it is an error like the rest.
 */
async function drivePrimary(text: string): Promise<Outcome & { readonly certificate?: Uint8Array; readonly sealed?: SealedExport }> {
  const { certificate: backupCertificate, offer } = await prepareBackup();
  const replay = new ReplayTransport(text);
  const card = new TwincardCard(replay, { sessionRandom: seededRandom(REDACTION_SEED) });
  let session: CardSession | undefined;
  try {
    await card.select();
    const info = await card.read();
    session = await card.openSession(parseCertificate(info.certificate!));
    const wallet = await card.createWallet(PIN);
    await card.verifyPin(WRONG_PIN).catch((e: unknown) => {
      if (!(e instanceof WrongPinError)) throw e;
    });
    await card.verifyPin(PIN);
    await card.sign(DIGEST, wallet);
    const sealed = await card.backupExport({ certificate: backupCertificate, ...offer });
    await card.backupFinalize();
    return { error: undefined, replay, card, session, certificate: info.certificate!, sealed };
  } catch (error) {
    return { error, replay, card, session };
  }
}

/** The primary's recording with exchange `index`'s answer changed. */
const primaryWith = (index: number, change: (answer: Answer) => Answer) => drivePrimary(withAnswer(transcript('a1'), index, change));

/** Checks `error` is a MalformedResponseError of `command` whose message contains `message`. */
function expectMalformed(error: unknown, command: string, message: string | RegExp): void {
  expect(error).toBeInstanceOf(MalformedResponseError);
  expect((error as MalformedResponseError).message).toMatch(new RegExp(`^${command}: `));
  expect((error as MalformedResponseError).message).toMatch(message);
}

test('the recordings replay unaltered: every exchange used, as recorded', async () => {
  const { error, replay, sealed, certificate } = await drivePrimary(transcript('a1'));
  expect(error).toBeUndefined();
  replay.assertDone();
  const b2 = new ReplayTransport(transcript('b2'));
  const backup = new TwincardCard(b2);
  await backup.select();
  expect((await backup.backupImport({ certificate: certificate!, ...sealed! })).alreadyImported).toBe(false);
  b2.assertDone();
});

describe('SELECT', () => {
  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['an unknown state', setAt(5, 0x7f), 'unknown card state 0x7F'],
    ['a TLV cut short', data((d) => d.subarray(0, -1)), 'truncated TLV: tag 0x03 has length 1 but only 0 bytes follow'],
    ['a VERSION of two bytes', data(() => Uint8Array.of(0x01, 0x02, 0x02, 0x00, 0x03, 0x01, 0x01)), 'tag 0x01: expected 1 bytes, got 2'],
    ['a tag SELECT does not answer', data((d) => Uint8Array.of(...d, 0x05, 0x01, 0x00)), 'unexpected tag 0x05'],
    ['the fields out of order', data(() => Uint8Array.of(0x03, 0x01, 0x01, 0x01, 0x01, 0x02)), 'tag 0x01 out of order (after tag 0x03)'],
    ['no data at all', data(() => new Uint8Array(0)), 'missing tag 0x01'],
  ])('refuses %s', async (_name, change, message) => {
    const { error, replay } = await primaryWith(A1.SELECT, change);
    expectMalformed(error, 'SELECT', message);
    expect(replay.replayed).toBe(1);
  });

  test('a refusal (applet not found) is a CardRefusedError with its status word', async () => {
    const { error } = await primaryWith(A1.SELECT, refusal(0x6a82));
    expect(error).toBeInstanceOf(CardRefusedError);
    expect((error as CardRefusedError).sw).toBe(0x6a82);
  });
});

describe('READ', () => {
  // The BLANK card's READ: 01 01 02 | 03 01 01 | 02 08 id | 04 81 DC certificate | 06 01 tries | 07 04 counter | 08 01 count
  const TRIES = 241;
  const COUNTER = 242;
  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['more access-code tries than the protocol allows', setAt(TRIES, 6), 'PIN_TRIES_LEFT is 6, more than 5'],
    ['a WALLET state without a wallet key', setAt(5, 0x02), 'WALLET_PUBLIC_KEY missing in state WALLET'],
    ['a FACTORY state with a card id', setAt(5, 0x00), 'CARD_ID present in state FACTORY'],
    ['an unknown state', setAt(5, 0x09), 'unknown card state 0x09'],
    [
      'a 3-byte SIGN_COUNTER',
      data((d) => Uint8Array.of(...d.subarray(0, COUNTER), 0x07, 0x03, 0, 0, 0, ...d.subarray(COUNTER + 6))),
      'tag 0x07: expected 4 bytes, got 3',
    ],
    [
      'BACKUP_COUNT before SIGN_COUNTER',
      data((d) => Uint8Array.of(...d.subarray(0, COUNTER), ...d.subarray(COUNTER + 6), ...d.subarray(COUNTER, COUNTER + 6))),
      'tag 0x07 out of order (after tag 0x08)',
    ],
    ['a certificate length past the end', setAt(18, 0xff), 'truncated TLV: tag 0x04 has length 255'],
    ['a BACKUP_COUNT on a BLANK card', setAt(250, 1), 'BACKUP_COUNT is 1 in state BLANK'],
  ])('refuses %s', async (_name, change, message) => {
    const { error, replay } = await primaryWith(A1.READ, change);
    expectMalformed(error, 'READ', message);
    expect(replay.replayed).toBe(2);
  });
});

describe('OPEN_SESSION', () => {
  // 1A 41 EC | 0B 46 signature
  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['an EC off the curve', flipAt(2 + 64), 'EC: not a valid secp256k1 point'],
    ['an EC that is not an uncompressed point', setAt(2, 0x02), 'EC: not a valid secp256k1 point: expected first byte 04'],
    ['a signature that is not DER', setAt(69, 0x31), 'session signature: not a strict DER ECDSA signature'],
    ['no signature', data((d) => d.subarray(0, 67)), 'missing tag 0x0B'],
  ])('refuses %s', async (_name, change, message) => {
    const { error, card } = await primaryWith(A1.OPEN_SESSION, change);
    expectMalformed(error, 'OPEN_SESSION', message);
    expect(card.sessionOpen).toBe(false);
  });

  test('a session signature that does not verify: not genuine, and no session', async () => {
    const { error, card, replay } = await primaryWith(A1.OPEN_SESSION, flipAt(69 + 10));
    expect(error).toBeInstanceOf(SessionKeyNotCertifiedError);
    expect(card.sessionOpen).toBe(false);
    expect(replay.replayed).toBe(3);
  });
});

describe('wrapped commands: status words and the session counter', () => {
  test('CREATE_WALLET refused before the session check (6D00): the counter is not consumed', async () => {
    const { error, session, card } = await primaryWith(A1.CREATE_WALLET, refusal(IsoSw.INS_NOT_SUPPORTED));
    expect(error).toBeInstanceOf(CardRefusedError);
    expect(session?.counter).toBe(0);
    expect(card.sessionOpen).toBe(true);
  });

  test('CREATE_WALLET refused after it (6985): the counter stays consumed', async () => {
    const { error, session } = await primaryWith(A1.CREATE_WALLET, refusal(IsoSw.CONDITIONS_NOT_SATISFIED));
    expect((error as CardRefusedError).sw).toBe(0x6985);
    expect(session?.counter).toBe(1);
  });

  test('6988: the card closed the session, so does the host', async () => {
    const { error, card } = await primaryWith(A1.CREATE_WALLET, refusal(IsoSw.SESSION_FAILED));
    expect((error as CardRefusedError).sw).toBe(0x6988);
    expect(card.sessionOpen).toBe(false);
  });

  test('CREATE_WALLET with a 64-byte key is malformed', async () => {
    const { error } = await primaryWith(
      A1.CREATE_WALLET,
      data((d) => Uint8Array.of(0x05, 0x40, ...d.subarray(3))),
    );
    expectMalformed(error, 'CREATE_WALLET', 'tag 0x05: expected 65 bytes, got 64');
  });

  test.each<[string, number, number]>([
    ['63C0 (no try left)', 0x63c0, 0x63c0],
    ['6983 (blocked)', IsoSw.PIN_BLOCKED, 0x6983],
  ])('VERIFY_PIN answered %s is PinBlockedError', async (_name, word, expected) => {
    const { error } = await primaryWith(A1.VERIFY_PIN_WRONG, refusal(word));
    expect(error).toBeInstanceOf(PinBlockedError);
    expect((error as PinBlockedError).sw).toBe(expected);
  });

  test('VERIFY_PIN answered 9000 with data is malformed', async () => {
    const { error } = await primaryWith(
      A1.VERIFY_PIN,
      data(() => Uint8Array.of(0x00)),
    );
    expectMalformed(error, 'VERIFY_PIN', 'expected no data, got 1 bytes');
  });
});

describe('SIGN', () => {
  // 0B 46 signature | 07 04 counter
  test('a signature that does not verify over the digest is a CardSignatureError', async () => {
    const { error, replay } = await primaryWith(A1.SIGN, flipAt(2 + 10));
    expect(error).toBeInstanceOf(CardSignatureError);
    expect((error as Error).message).toMatch(/^SIGN: the signature does not verify over the digest under the wallet public key/);
    expect(replay.replayed).toBe(A1.SIGN + 1);
  });

  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['a signature that is not DER', setAt(2, 0x31), 'wallet signature: not a strict DER ECDSA signature'],
    ['a 2-byte counter', data((d) => Uint8Array.of(...d.subarray(0, 72), 0x07, 0x02, 0x00, 0x01)), 'tag 0x07: expected 4 bytes, got 2'],
    ['no counter', data((d) => d.subarray(0, 72)), 'missing tag 0x07'],
  ])('refuses %s', async (_name, change, message) => {
    expectMalformed((await primaryWith(A1.SIGN, change)).error, 'SIGN', message);
  });
});

describe('BACKUP_EXPORT and BACKUP_FINALIZE', () => {
  test.each<[string, number, (answer: Answer) => Answer, string | RegExp]>([
    ['an EP off the curve', A1.BACKUP_EXPORT, flipAt(2 + 64), 'EP: not a valid secp256k1 point'],
    ['a seal signature that is not DER', A1.BACKUP_EXPORT, setAt(69, 0x31), 'seal signature: not a strict DER ECDSA signature'],
    [
      'a blob one byte short',
      A1.BACKUP_EXPORT_REST,
      data((d) => d.subarray(0, -1)),
      'truncated TLV: tag 0x15 has length 193 but only 192 bytes follow',
    ],
    ['a blob with a byte more', A1.BACKUP_EXPORT_REST, data((d) => Uint8Array.of(...d, 0x00)), 'invalid protocol tag 0x00 (at byte 335)'],
  ])('BACKUP_EXPORT refuses %s', async (_name, index, change, message) => {
    expectMalformed((await primaryWith(index, change)).error, 'BACKUP_EXPORT', message);
  });

  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['a count of 0', setAt(2, 0), 'BACKUP_COUNT is 0, expected 1..2'],
    ['a count of 3', setAt(2, 3), 'BACKUP_COUNT is 3, expected 1..2'],
    ['no count', data(() => new Uint8Array(0)), 'missing tag 0x08'],
  ])('BACKUP_FINALIZE refuses %s', async (_name, change, message) => {
    expectMalformed((await primaryWith(A1.BACKUP_FINALIZE, change)).error, 'BACKUP_FINALIZE', message);
  });
});

describe('the backup card: BACKUP_PREPARE and BACKUP_IMPORT', () => {
  // 13 41 EB | 14 47 prepare signature
  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['an EB off the curve', flipAt(2 + 64), 'EB: not a valid secp256k1 point'],
    ['a prepare signature that is not DER', setAt(69, 0x31), 'prepare signature: not a strict DER ECDSA signature'],
    [
      'the two fields swapped',
      data((d) => Uint8Array.of(...d.subarray(67), ...d.subarray(0, 67))),
      'tag 0x13 out of order (after tag 0x14)',
    ],
  ])('BACKUP_PREPARE refuses %s', async (_name, change, message) => {
    const error = await prepareBackup(withAnswer(transcript('b1'), B1_PREPARE, change)).catch((e: unknown) => e);
    expectMalformed(error, 'BACKUP_PREPARE', message);
  });

  /** The b2 import with its answer changed: 05 41 wallet key | 17 01 result. */
  async function importWith(change: (answer: Answer) => Answer): Promise<unknown> {
    const { certificate, sealed } = await drivePrimary(transcript('a1'));
    const backup = new TwincardCard(new ReplayTransport(withAnswer(transcript('b2'), B2_IMPORT, change)));
    await backup.select();
    return backup.backupImport({ certificate: certificate!, ...sealed! }).catch((e: unknown) => e);
  }

  test.each<[string, (answer: Answer) => Answer, string | RegExp]>([
    ['an IMPORT_RESULT that is neither 00 nor 01', setAt(69, 2), 'IMPORT_RESULT 2 is neither 00 nor 01'],
    ['a wallet key off the curve', flipAt(2 + 64), 'wallet public key: not a valid secp256k1 point'],
    ['no IMPORT_RESULT', data((d) => d.subarray(0, 67)), 'missing tag 0x17'],
  ])('BACKUP_IMPORT refuses %s', async (_name, change, message) => {
    expectMalformed(await importWith(change), 'BACKUP_IMPORT', message);
  });

  test('BACKUP_IMPORT answered 01: the same blob again, a retried step', async () => {
    const result = await importWith(setAt(69, 1));
    expect(result).toMatchObject({ alreadyImported: true });
  });

  test('BACKUP_IMPORT refused (9A05, MAC) is a CardRefusedError naming the word', async () => {
    const error = await importWith(refusal(0x9a05));
    expect(error).toBeInstanceOf(CardRefusedError);
    expect((error as Error).message).toContain('9A05');
  });
});

/**
 * The factory commands and BACKUP_CANCEL have no recorded session here (the recorder's cards come
 * personalized): their answers are written by hand, as card-read.test.ts does.
 */
describe('commands without a recording: hand-written answers', () => {
  const answering = (...answers: Uint8Array[]) => {
    const queue = [...answers];
    return new TwincardCard({
      transmit: async () => {
        const next = queue.shift();
        if (next === undefined) throw new Error('no answer left');
        return next;
      },
    });
  };
  const ok = (...bytes: number[]) => Uint8Array.of(...bytes, 0x90, 0x00);
  const point = (seed: number) => Uint8Array.of(0x04, ...new Uint8Array(64).fill(seed));
  const cardId = new Uint8Array(8).fill(1);

  test('BACKUP_CANCEL: 9000 with data is malformed; 6985 is refused', async () => {
    expectMalformed(
      await answering(ok(0x01))
        .backupCancel()
        .catch((e: unknown) => e),
      'BACKUP_CANCEL',
      'expected no data, got 1 bytes',
    );
    await expect(answering(Uint8Array.of(0x69, 0x85)).backupCancel()).rejects.toMatchObject({ sw: 0x6985 });
    await expect(answering(ok()).backupCancel()).resolves.toBeUndefined();
  });

  test('PERSO_GENERATE: both keys validated before anything certifies them', async () => {
    const identity = publicKeyOf(new Uint8Array(32).fill(2));
    const attestation = publicKeyOf(new Uint8Array(32).fill(3));
    const keys = await answering(ok(0x0a, 0x41, ...identity, 0x0e, 0x41, ...attestation)).persoGenerate(cardId);
    expect(keys.attestationPublicKey).toEqual(attestation);
    const offCurve = point(1);
    expectMalformed(
      await answering(ok(0x0a, 0x41, ...offCurve, 0x0e, 0x41, ...attestation))
        .persoGenerate(cardId)
        .catch((e: unknown) => e),
      'PERSO_GENERATE',
      'identity public key: not a valid secp256k1 point',
    );
    expectMalformed(
      await answering(ok(0x0e, 0x41, ...attestation, 0x0a, 0x41, ...identity))
        .persoGenerate(cardId)
        .catch((e: unknown) => e),
      'PERSO_GENERATE',
      'tag 0x0A out of order (after tag 0x0E)',
    );
  });

  test('PERSO_COMMIT: 9A01 refused, data malformed', async () => {
    const signature = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01);
    await expect(answering(ok()).persoCommit(signature)).resolves.toBeUndefined();
    await expect(answering(Uint8Array.of(0x9a, 0x01)).persoCommit(signature)).rejects.toMatchObject({ sw: 0x9a01 });
    expectMalformed(
      await answering(ok(0x00, 0x00))
        .persoCommit(signature)
        .catch((e: unknown) => e),
      'PERSO_COMMIT',
      'expected no data, got 2 bytes',
    );
  });

  test("a TLV error inside a parser is reported as the card's fault, not the TLV layer's", async () => {
    const error = await answering(ok(0x01, 0x05))
      .select()
      .catch((e: unknown) => e);
    expectMalformed(error, 'SELECT', 'truncated TLV: tag 0x01 has length 5');
    expect((error as Error).cause).toBeInstanceOf(TlvError);
  });
});
