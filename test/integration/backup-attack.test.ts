/**
 * The version 1 silent-clone attack (docs/protocol.md section 9.3) and its variations, played through pcscd by a
 * host that knows the access code and builds every APDU itself. Each scenario asserts that a version 2 card
 * refuses, or COUNTS: after each one, I1 (at most 2 cards besides the primary hold its wallet) and I2 (every
 * card the host ever received a blob for is in the primary's BACKUP_CARD_IDS) are checked on the cards' READs.
 * The host knows the code, so it opens its own sessions (section 1.4) and wraps what carries or uses the code.
 * Cards: 0 = primary P, 1 = B1, 2 = B2, 3 = B3 (the attacker's third card).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../src/apdu/index.js';
import { PcscService } from '../../src/readers/index.js';
import { AttackHost, B1, B2, B3, P } from './support/attack/host.js';
import { sw } from './support/attack/card-link.js';
import {
  cancelCommand,
  cmd,
  exportCommand,
  finalizeCommand,
  importCommand,
  prepareCommand,
  V1_BACKUP_INS,
  type CardView,
} from './support/attack/wire.js';

const PIN = new TextEncoder().encode('135790');

let service: PcscService;
let host: AttackHost;
let wallet: Uint8Array;

beforeAll(async () => {
  service = PcscService.open();
  await service.waitForReaders({ timeoutMs: 5000 });
  host = await AttackHost.open(service, 4);
});

afterAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  await host?.close();
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- undefined when beforeAll failed
  service?.close();
});

beforeEach(async () => {
  wallet = (await host.reset([P], PIN)).get(P)!;
});

/** I1 and I2 on the cards' own READs; on failure the message carries the whole transcript. */
afterEach(() => host.assertInvariants());

async function unlockPrimary(): Promise<void> {
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, PIN))).toBe('9000');
}

function summary(v: CardView): { state: string; count: number; ids: readonly string[] } {
  return { state: v.state, count: v.backupCount, ids: v.backupCardIds };
}

function id(k: number): string {
  return host.identity(k).idHex;
}

test('version 1 backup INS 50..5E answer 6D00 in every state and change nothing', async () => {
  const v1Payload = new Uint8Array(200).fill(0x5a);
  const probe = async (k: number): Promise<void> => {
    const before = await host.read(k);
    for (const ins of V1_BACKUP_INS) {
      for (const data of [undefined, v1Payload]) {
        const reply = await host.raw(k, `v1 INS ${ins.toString(16)}`, cmd(ins, data, 256));
        expect({ k, ins: ins.toString(16), sw: sw(reply) }).toEqual({ k, ins: ins.toString(16), sw: '6D00' });
      }
    }
    expect(await host.read(k)).toEqual(before);
  };
  await unlockPrimary();
  await probe(P); // WALLET, access code verified
  await probe(B1); // BLANK
  const o1 = await host.offer(B1);
  await probe(B1); // BACKUP_PENDING
  await host.exported(P, o1);
  await probe(P); // BACKUP_EXPORTING
});

test('the version 1 attack, replayed in version 2 terms: the stale EB is sealed to but COUNTED, and P never goes back', async () => {
  // v1: P: VERIFY_PIN, BACKUP_START(EP0), BACKUP_ABORT, BACKUP_START(EP1). There is no such command now.
  await unlockPrimary();
  expect(sw(await host.raw(P, 'v1 BACKUP_START', cmd(0x50, undefined, 256)))).toBe('6D00');
  expect(sw(await host.raw(P, 'v1 BACKUP_ABORT', cmd(0x5e)))).toBe('6D00');
  // v1: B: LINK_PRIMARY(EP1) -> EB_a; LINK_PRIMARY(EP0); LINK_PRIMARY(EP1) -> EB_b. Now: prepare, cancel, prepare.
  const ebA = await host.offer(B1);
  expect(sw(await host.cancel(B1))).toBe('9000');
  const ebB = await host.offer(B1);
  expect(toHex(ebB.eb)).not.toBe(toHex(ebA.eb));
  // v1: P: LINK_BACKUP(B, EB_b), EXPORT_WALLET(B); B: IMPORT_WALLET.
  const blob = await host.exported(P, ebB);
  const imported = await host.import(B1, blob);
  expect({ sw: sw(imported), result: imported.result, key: toHex(imported.walletPublicKey!) }).toEqual({
    sw: '9000',
    result: 0,
    key: toHex(wallet),
  });
  // v1: P: LINK_BACKUP(B, EB_a) (the stale signature cleared the exported mark), BACKUP_ABORT -> WALLET, count 0.
  const stale = await host.export(P, ebA);
  expect(sw(stale)).toBe('9000'); // a recorded card may be exported to again: counted, not a new slot
  expect(sw(await host.raw(P, 'v1 BACKUP_ABORT', cmd(0x5e)))).toBe('6D00');
  expect(sw(await host.cancel(P))).toBe('6985');
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
  // The stale blob cannot go anywhere: B1 has imported (another blob: 6985), B2 is not its recipient.
  expect(sw(await host.import(B1, stale.sealed!))).toBe('6985');
  await host.offer(B2);
  expect(sw(await host.import(B2, stale.sealed!))).toBe('9A06');
});

test('a primary after one export never returns to WALLET nor lowers its count, whatever it is sent', async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  const first = await host.exported(P, o1);
  const expectRecord = async (state: string): Promise<void> => {
    expect(summary(await host.read(P))).toEqual({ state, count: 1, ids: [id(B1)] });
  };
  await expectRecord('BACKUP_EXPORTING');
  const tries = async (finalized = false): Promise<void> => {
    expect(sw(await host.cancel(P))).toBe('6985');
    expect(sw(await host.prepare(P))).toBe('6985');
    expect(sw(await host.import(P, first))).toBe('6985');
    expect(sw(await host.createWallet(P, PIN))).toBe('6985');
    // I2: no RESET before the record is final (once BACKED_UP it is allowed: tested on its own below)
    if (!finalized) expect(sw(await host.resetCard(P, PIN))).toBe('6985');
    for (const ins of V1_BACKUP_INS) expect(sw(await host.raw(P, `v1 INS ${ins.toString(16)}`, cmd(ins)))).toBe('6D00');
  };
  await tries();
  await expectRecord('BACKUP_EXPORTING');
  // Re-export to the recorded card (a retried step): allowed, a new EP, the count unchanged.
  const again = await host.exported(P, o1);
  expect(toHex(again.ep)).not.toBe(toHex(first.ep));
  await expectRecord('BACKUP_EXPORTING');
  // A new session (reset, SELECT) changes nothing either.
  expect(sw(await host.select(P))).toBe('9000');
  await tries();
  await expectRecord('BACKUP_EXPORTING');
  expect(sw(await host.verifyPin(P, PIN))).toBe('9000');
  const finalized = await host.finalize(P);
  expect({ sw: sw(finalized), count: finalized.count }).toEqual({ sw: '9000', count: 1 });
  await tries(true);
  expect(sw(await host.export(P, o1))).toBe('6985');
  expect({ sw: sw(await host.finalize(P)) }).toEqual({ sw: '9000' }); // idempotent, origin 01
  await expectRecord('BACKED_UP');
  // B1 still imports its first blob: the one copy the primary counts.
  expect(sw(await host.import(B1, first))).toBe('9000');
});

test('export to a third card: 9A08, nothing recorded; the two recorded cards may still be exported to', async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  const o2 = await host.offer(B2);
  const o3 = await host.offer(B3);
  await host.exported(P, o1);
  await host.exported(P, o2);
  expect(sw(await host.export(P, o3))).toBe('9A08');
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 2, ids: [id(B1), id(B2)] });
  const b2 = await host.exported(P, o2);
  expect(sw(await host.export(P, o3))).toBe('9A08');
  expect(sw(await host.import(B2, b2))).toBe('9000');
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 2, ids: [id(B1), id(B2)] });
  expect((await host.read(B3)).state).toBe('BACKUP_PENDING');
});

test('export after finalize: 6985 to a recorded card and to a new one', async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  const o2 = await host.offer(B2);
  await host.exported(P, o1);
  expect((await host.finalize(P)).count).toBe(1);
  expect(sw(await host.export(P, o1))).toBe('6985');
  expect(sw(await host.export(P, o2))).toBe('6985');
  expect(summary(await host.read(P))).toEqual({ state: 'BACKED_UP', count: 1, ids: [id(B1)] });
  // Finalize before any export: refused in WALLET, so no empty final set can be made either.
  wallet = (await host.reset([P], PIN)).get(P)!;
  await unlockPrimary();
  expect(sw(await host.finalize(P))).toBe('6985');
});

test('a backup card cancelled and re-prepared cannot import the blob sealed to its old EB (9A03)', async () => {
  await unlockPrimary();
  const old = await host.offer(B1);
  const oldBlob = await host.exported(P, old);
  expect(sw(await host.cancel(B1))).toBe('9000');
  expect(sw(await host.import(B1, oldBlob))).toBe('6985'); // BLANK: nothing to import into
  const fresh = await host.offer(B1);
  expect(toHex(fresh.eb)).not.toBe(toHex(old.eb));
  expect(sw(await host.import(B1, oldBlob))).toBe('9A03');
  expect((await host.read(B1)).state).toBe('BACKUP_PENDING');
  const freshBlob = await host.exported(P, fresh);
  expect(sw(await host.import(B1, freshBlob))).toBe('9000');
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
});

test("a blob for B1 offered to B2: 9A06 (and B2's own EB does not help)", async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  await host.offer(B2);
  const forB1 = await host.exported(P, o1);
  expect(sw(await host.import(B2, forB1))).toBe('9A06');
  expect((await host.read(B2)).state).toBe('BACKUP_PENDING');
  expect(sw(await host.import(B1, forB1))).toBe('9000');
});

test(
  'a blob replayed to a card that imported: 17 01 01 only for ' + 'the identical blob, else 6985; an imported card never exports',
  async () => {
    await unlockPrimary();
    const o1 = await host.offer(B1);
    const o2 = await host.offer(B2);
    const first = await host.exported(P, o1);
    const second = await host.exported(P, o1); // same card, new EP: a different blob
    const forB2 = await host.exported(P, o2);
    expect((await host.import(B1, first)).result).toBe(0);
    const replay = await host.import(B1, first);
    expect({ sw: sw(replay), result: replay.result, key: toHex(replay.walletPublicKey!) }).toEqual({
      sw: '9000',
      result: 1,
      key: toHex(wallet),
    });
    expect(sw(await host.import(B1, second))).toBe('6985');
    expect(sw(await host.import(B1, forB2))).toBe('6985');
    // I5: B1 holds the wallet with the same access code; it cannot export it nor finalize.
    const o3 = await host.offer(B3);
    expect(sw(await host.select(B1))).toBe('9000');
    expect(sw(await host.verifyPin(B1, PIN))).toBe('9000');
    expect(sw(await host.export(B1, o3))).toBe('6985');
    expect(sw(await host.finalize(B1))).toBe('6985');
    expect(sw(await host.sign(B1, sha256(new TextEncoder().encode('a clone signs'))))).toBe('9000');
    expect(summary(await host.read(B1))).toEqual({ state: 'BACKED_UP', count: 0, ids: [] });
  },
);

test('a torn export (the card ran it, the answer was lost): after reinsertion the primary names the card', async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  await host.exportTorn(P, o1);
  // The host never received the blob, yet the card counts B1: a lost answer is a counted slot, never a hidden copy.
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
  // The reinsertion reset the selection: the access code is needed again.
  expect(sw(await host.export(P, o1))).toBe('6982');
  expect(sw(await host.verifyPin(P, PIN))).toBe('9000');
  const resumed = await host.exported(P, o1);
  expect(sw(await host.import(B1, resumed))).toBe('9000');
  // A torn export to a third card is refused before anything is recorded.
  const o2 = await host.offer(B2);
  await host.exported(P, o2);
  const o3 = await host.offer(B3);
  await host.exportTorn(P, o3);
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 2, ids: [id(B1), id(B2)] });
});

test('torn cancel, prepare, import and finalize leave each card before or after the command, never between', async () => {
  await unlockPrimary();
  const o1 = await host.offer(B1);
  await host.sendTorn(B1, 'BACKUP_CANCEL', cancelCommand());
  expect((await host.read(B1)).state).toBe('BLANK');
  await host.sendTorn(B1, 'BACKUP_PREPARE', prepareCommand());
  expect((await host.read(B1)).state).toBe('BACKUP_PENDING');
  const o1b = await host.offer(B1); // the EB made by the torn prepare, answered again
  expect(toHex(o1b.eb)).not.toBe(toHex(o1.eb));
  expect(sw(await host.import(B1, await host.exported(P, o1)))).toBe('9A03');
  const good = await host.exported(P, o1b);
  await host.sendTorn(B1, 'BACKUP_IMPORT', importCommand(good));
  const b1 = await host.read(B1);
  expect({ state: b1.state, key: toHex(b1.walletPublicKey!) }).toEqual({ state: 'BACKED_UP', key: toHex(wallet) });
  expect((await host.import(B1, good)).result).toBe(1); // the retried step answers "already imported"
  await host.sendTornWrapped(P, 'BACKUP_FINALIZE', finalizeCommand());
  expect(summary(await host.read(P))).toEqual({ state: 'BACKED_UP', count: 1, ids: [id(B1)] });
  await host.sendTornWrapped(P, 'BACKUP_EXPORT (refused)', exportCommand(o1b));
  expect(summary(await host.read(P))).toEqual({ state: 'BACKED_UP', count: 1, ids: [id(B1)] });
});

test('a stale EB and signature from an earlier prepare, exported: counted, and the card cannot import it', async () => {
  await unlockPrimary();
  const stale = await host.offer(B1);
  expect(sw(await host.cancel(B1))).toBe('9000');
  const staleBlob = await host.exported(P, stale); // the signature is genuine, so the primary accepts and counts it
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
  expect(sw(await host.import(B1, staleBlob))).toBe('6985'); // BLANK
  await host.offer(B1);
  expect(sw(await host.import(B1, staleBlob))).toBe('9A03'); // sealed to an EB that is gone
  expect((await host.read(B1)).state).toBe('BACKUP_PENDING');
  // The stale offer of a card that went on to create its own wallet is its own id: 9A09 on that card.
  const own = await host.offer(B2);
  expect(sw(await host.cancel(B2))).toBe('9000');
  expect(sw(await host.createWallet(B2, PIN))).toBe('9000');
  expect(sw(await host.verifyPin(B2, PIN))).toBe('9000');
  expect(sw(await host.export(B2, own))).toBe('9A09');
  expect(summary(await host.read(B2))).toEqual({ state: 'WALLET', count: 0, ids: [] });
});

test(
  'RESET: refused while exporting; a finalized primary and its clone may go ' +
    'blank, and a reset card gets the wallet again only by a counted export',
  async () => {
    await unlockPrimary();
    const o1 = await host.offer(B1);
    expect(sw(await host.import(B1, await host.exported(P, o1)))).toBe('9000');
    // The clone resets itself (its code came in the blob): blank again, the same genuine card.
    expect(sw(await host.select(B1))).toBe('9000');
    expect(sw(await host.resetCard(B1, PIN))).toBe('9000');
    const blank = await host.read(B1);
    expect({
      state: blank.state,
      id: toHex(blank.cardId!),
      wallet: blank.walletPublicKey,
      primary: blank.primaryId,
      count: blank.signCounter,
    }).toEqual({ state: 'BLANK', id: id(B1), wallet: undefined, primary: undefined, count: 0 });
    // It may become a backup card again, but only through an export the primary records (B1 is recorded already).
    const again = await host.offer(B1);
    expect(toHex(again.eb)).not.toBe(toHex(o1.eb));
    expect(sw(await host.select(P))).toBe('9000');
    expect(sw(await host.resetCard(P, PIN))).toBe('6985'); // BACKUP_EXPORTING: the record first
    expect(sw(await host.verifyPin(P, PIN))).toBe('9000');
    expect(sw(await host.import(B1, await host.exported(P, again)))).toBe('9000');
    expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
    expect((await host.finalize(P)).count).toBe(1);
    // The finalized primary goes blank: its record goes with its wallet; B1's copy stays counted against it.
    expect(sw(await host.resetCard(P, PIN))).toBe('9000');
    expect(summary(await host.read(P))).toEqual({ state: 'BLANK', count: 0, ids: [] });
    // The blank former primary cannot take the wallet back from anything the host kept: no blob names it.
    const former = await host.offer(P);
    expect(sw(await host.select(B1))).toBe('9000');
    expect(sw(await host.verifyPin(B1, PIN))).toBe('9000');
    expect(sw(await host.export(B1, former))).toBe('6985'); // I5: the clone never exports, whatever its code
  },
);

test('CHANGE_ACCESS_CODE: one card only, the old code is refused after it, the verification must be made again', async () => {
  const next = new TextEncoder().encode('97531024');
  await unlockPrimary();
  expect(sw(await host.changeAccessCode(P, new TextEncoder().encode('000000'), next))).toBe('63C4'); // wrong current code: a try
  expect(sw(await host.changeAccessCode(P, PIN, next))).toBe('9000');
  expect((await host.read(P)).pinTriesLeft).toBe(5);
  expect(sw(await host.sign(P, sha256(new TextEncoder().encode('after change'))))).toBe('6982'); // verification cleared
  expect(sw(await host.verifyPin(P, PIN))).toBe('63C4');
  expect(sw(await host.verifyPin(P, next))).toBe('9000');
  // The blob carries the code of this selection: the clone gets the new code, then keeps its own.
  const o1 = await host.offer(B1);
  expect(sw(await host.import(B1, await host.exported(P, o1)))).toBe('9000');
  expect(sw(await host.select(B1))).toBe('9000');
  expect(sw(await host.verifyPin(B1, next))).toBe('9000');
  expect(sw(await host.changeAccessCode(B1, next, PIN))).toBe('9000');
  expect(sw(await host.select(P))).toBe('9000');
  expect(sw(await host.verifyPin(P, next))).toBe('9000'); // the primary did not change
  expect(summary(await host.read(P))).toEqual({ state: 'BACKUP_EXPORTING', count: 1, ids: [id(B1)] });
});
