/**
 * The card session (docs/protocol.md section 1.4) with the host as an attacker in the field: OPEN_SESSION's
 * answer under the certified attestation key, an invalid EH (a malformed one refused; an off-curve one refused
 * or, section 1, accepted as a new session that replaces the old), the code in clear, plain-only commands wrapped,
 * and every secure-messaging fault (no session, too short, ciphertext not in blocks, counter repeated, skipped
 * or zero, MAC and padding wrong, a command replayed in the same or a new session): each answers 6988,
 * closes the session (the next correct command fails too, the verification is gone) and changes nothing else.
 * @module
 */
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import { isValidPublicKey, SECP256K1_P } from '../../protocol/crypto.js';
import { attestationKey, identityKey, SUITE_PIN, type CardUnderTest } from '../harness.js';
import {
  deriveSession,
  hostEphemeral,
  openSessionData,
  parseSessionAnswer,
  sessionSignatureVerifies,
  wrapData,
  type HostSession,
  type WrapFaults,
} from '../session.js';
import { NotApplicable } from '../types.js';
import { CLA_WRAPPED, Ins, Sw, WRAPPED_ONLY, type ReadInfo } from '../wire.js';
import type { InvalidPoint } from '../wycheproof.js';
import { check, CLA, flip, type Check, type CheckContext, type Expect } from './common.js';
import { changeCodeData, COMMANDS, kebab } from './commands.js';
import { edgePoints } from './points.js';

const WRONG_PIN = new TextEncoder().encode('00000000');

/** A personalized card as it is (BLANK when it is FACTORY): OPEN_SESSION needs no more. */
async function personalized(ctx: CheckContext): Promise<ReadInfo> {
  const seen = await ctx.dut.snapshot();
  const info = seen.state === 'FACTORY' ? await ctx.reach('BLANK') : seen;
  if (info.certificate === undefined) throw new NotApplicable('needs a personalized card');
  ctx.dut.recorder.clear();
  return info;
}

/** A wrapped command's raw data sent with CLA 84, whatever it holds; the host's session is left to the caller. */
function sendWrappedData(dut: CardUnderTest, ins: number, data: Uint8Array, ne = 0) {
  return dut.plain(CLA_WRAPPED, ins, data, ne);
}

/** WALLET, a session open and the code verified in it: the session, and READ as it was. */
async function verifiedSession(ctx: CheckContext): Promise<{ before: ReadInfo; session: HostSession }> {
  const before = await ctx.reach('WALLET');
  const session = await ctx.dut.openSession();
  await ctx.dut.verify();
  ctx.dut.recorder.clear();
  return { before, session };
}

/**
 * After a secure-messaging failure in `session`: the next correct wrapped command in it is 6988 as well (the
 * session is closed), in a new session SIGN is 6982 (the verification went with it), and READ shows nothing
 * changed since `before`.
 */
async function expectClosed(ctx: CheckContext, e: Expect, session: HostSession, before: ReadInfo): Promise<void> {
  e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(session, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
  ctx.dut.session = undefined;
  e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.PIN_NOT_VERIFIED);
  await e.unchanged(ctx.dut, before);
}

/**
 * After a refused OPEN_SESSION: the session open before it is left as it was, its verification included (a
 * wrapped SIGN in it is 9000), and READ shows that one signature and nothing else changed.
 */
async function expectStillOpen(ctx: CheckContext, e: Expect, session: HostSession, before: ReadInfo): Promise<void> {
  e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(session, Ins.SIGN, randomBytes(32)), 256), Sw.OK);
  const after = await ctx.dut.snapshot();
  e.that(
    after.signCounter === before.signCounter + 1 && after.pinTriesLeft === before.pinTriesLeft && after.state === before.state,
    'READ: the one SIGN counted, nothing else changed',
    `READ: counter ${before.signCounter} -> ${after.signCounter}, tries ${after.pinTriesLeft}, ${after.state}`,
  );
}

/**
 * Not in the form section 1 makes every card check, even of EH: 65 bytes, `04`, X < p, Y < p. A point that has
 * the form but is off the curve is not malformed (OPEN_SESSION need not refuse it).
 */
function malformedPoint(point: Uint8Array): boolean {
  if (point.length !== 65 || point[0] !== 0x04) return true;
  const coordinate = (from: number) => BigInt('0x' + toHex(point.subarray(from, from + 32)));
  return coordinate(1) >= SECP256K1_P || coordinate(33) >= SECP256K1_P;
}

/** One secure-messaging fault on a SIGN in a verified session: 6988, then the session is closed. */
function smFault(id: string, title: string, faults: (session: HostSession) => WrapFaults): Check {
  return check(
    {
      id: `session/sm/${id}`,
      title:
        `a wrapped SIGN with ${title}, the code verified in the session: 6988; the ` +
        `next correct command 6988 too; in a new session SIGN is 6982; nothing changed`,
      category: 'session',
      destructive: false,
      needs: ['fresh-card'],
    },
    async (ctx, e) => {
      const { before, session } = await verifiedSession(ctx);
      e.sw(
        await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(session, Ins.SIGN, randomBytes(32), faults(session)), 256),
        Sw.SECURE_MESSAGING,
      );
      await expectClosed(ctx, e, session, before);
    },
  );
}

/** The data field cut or grown: `keep` maps ctr ‖ iv ‖ ct ‖ mac to what is sent. */
const reshaped = (keep: (d: Uint8Array) => Uint8Array) => (): WrapFaults => ({ mutate: keep });

export function sessionChecks(invalidPoints: readonly InvalidPoint[]): Check[] {
  const edges = edgePoints();
  const ehPoints = [...edges, ...invalidPoints.slice(0, 3).map((p) => ({ name: `wycheproof-${p.tcId}`, point: p.point }))];
  const checks: Check[] = [
    check(
      {
        id: 'session/open/answer',
        title:
          'OPEN_SESSION: 1A 41 EC (a valid point, new each time) and a signature over "TWINCARD:SESS-C2" || id || EH ' +
          '|| EC that verifies under the certified ATTESTATION key and not under the identity key; nothing changed',
        category: 'session',
        destructive: false,
      },
      async (ctx, e) => {
        const info = await personalized(ctx);
        const ecs: Uint8Array[] = [];
        for (let i = 0; i < 2; i++) {
          const eh = hostEphemeral();
          const r = await ctx.dut.cmd(Ins.OPEN_SESSION, openSessionData(eh.publicKey));
          e.sw(r, Sw.OK);
          const a = parseSessionAnswer(r.data);
          if (
            !e.that(a !== undefined, 'answer 1A 41 EC 0B LL signature', `answer of ${r.data.length} bytes not in that form`) ||
            a === undefined
          )
            break;
          ecs.push(a.ec);
          e.that(
            sessionSignatureVerifies(a.signature, info.cardId!, eh.publicKey, a.ec, attestationKey(info)),
            'the signature verifies under the attestation key',
            'the signature does not verify under the attestation key',
          );
          e.that(
            !sessionSignatureVerifies(a.signature, info.cardId!, eh.publicKey, a.ec, identityKey(info)),
            'not a signature by the identity key',
            'signed by the IDENTITY key',
          );
          try {
            deriveSession(info.cardId!, eh, a.ec);
            e.that(true, 'EC a valid point', '');
          } catch (error) {
            e.that(false, 'EC a valid point', (error as Error).message);
          }
        }
        if (ecs.length === 2)
          e.that(
            ecs[0]!.some((b, i) => b !== ecs[1]![i]),
            'a fresh EC for each session',
            'the same EC twice',
          );
        await e.unchanged(ctx.dut, info);
      },
    ),
    check(
      {
        id: 'session/open/length',
        title: 'OPEN_SESSION with no data, or EH under another tag, or a trailing byte: 6700 or 6A80; nothing changed',
        category: 'tlv',
        destructive: false,
      },
      async (ctx, e) => {
        const info = await personalized(ctx);
        const eh = hostEphemeral().publicKey;
        e.sw(await ctx.dut.cmd(Ins.OPEN_SESSION), Sw.WRONG_LENGTH, Sw.WRONG_DATA);
        e.sw(await ctx.dut.cmd(Ins.OPEN_SESSION, concatBytes(Uint8Array.of(0x1a, 0x41), eh)), Sw.WRONG_DATA);
        e.sw(await ctx.dut.cmd(Ins.OPEN_SESSION, concatBytes(openSessionData(eh), Uint8Array.of(0))), Sw.WRONG_DATA);
        await e.unchanged(ctx.dut, info);
      },
    ),
    ...ehPoints.map(({ name, point }) =>
      malformedPoint(point)
        ? check(
            {
              id: `session/open/invalid-eh/${name}`,
              title:
                `OPEN_SESSION with EH = ${name} (not well formed: prefix, length, X or Y not below p): 9A04, ` +
                'and the session open before it is left as it was',
              category: 'invalid-point',
              destructive: false,
              needs: ['fresh-card'],
            },
            async (ctx, e) => {
              const { before, session } = await verifiedSession(ctx);
              e.sw(await ctx.dut.cmd(Ins.OPEN_SESSION, openSessionData(point)), Sw.POINT_INVALID);
              await expectStillOpen(ctx, e, session, before);
            },
          )
        : check(
            {
              id: `session/open/invalid-eh/${name}`,
              title:
                `OPEN_SESSION with EH = ${name} (well formed, off the curve; section 1 does not require the curve check): ` +
                'either 9A04 and the session open before it left as it was, or 9000 with a well-formed answer signed by ' +
                'the attestation key, and then the old session is gone (6988) and READ unchanged',
              category: 'invalid-point',
              destructive: false,
              needs: ['fresh-card'],
            },
            async (ctx, e) => {
              const { before, session } = await verifiedSession(ctx);
              const r = await ctx.dut.cmd(Ins.OPEN_SESSION, openSessionData(point));
              if (!e.sw(r, Sw.POINT_INVALID, Sw.OK)) return;
              if (r.sw === Sw.POINT_INVALID) {
                await expectStillOpen(ctx, e, session, before);
                return;
              }
              const a = parseSessionAnswer(r.data);
              if (
                !e.that(a !== undefined, 'answer 1A 41 EC 0B LL signature', `answer of ${r.data.length} bytes not in that form`) ||
                a === undefined
              )
                return;
              e.that(isValidPublicKey(a.ec), 'EC a valid point', 'EC not a valid point');
              e.that(
                sessionSignatureVerifies(a.signature, before.cardId!, point, a.ec, attestationKey(before)),
                'the signature over the EH received verifies under the attestation key',
                'the signature does not verify under the attestation key',
              );
              // The new session replaced the old one and its verification: a correct command of the old one is 6988.
              await expectClosed(ctx, e, session, before);
            },
          ),
    ),
    check(
      {
        id: 'session/open/replaces',
        title:
          'a new OPEN_SESSION replaces the open one: a correct command in the ' +
          'old session is 6988, and the new one holds no verification (SIGN 6982)',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const { before, session: a } = await verifiedSession(ctx);
        const b = await ctx.dut.openSession();
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(a, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(b, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
        ctx.dut.session = undefined;
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'session/verification-bound',
        title: 'the code verified in session A does not serve session B: verify in A, open B, SIGN in B is 6982, counter unchanged',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const { before } = await verifiedSession(ctx);
        await ctx.dut.openSession();
        e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'session/closed-on-select',
        title: 'a SELECT closes the session: a correct wrapped SIGN in it is then 6988, counter unchanged',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const { before, session } = await verifiedSession(ctx);
        await ctx.dut.select();
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(session, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'session/sign-in-session',
        title: 'OPEN_SESSION, VERIFY_PIN and three SIGNs wrapped with counters 1..4: 9000 each, the counter +3',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const { before, session } = await verifiedSession(ctx);
        for (let i = 0; i < 3; i++) e.sw(await ctx.dut.wrapped(Ins.SIGN, randomBytes(32), 256, {}, session), Sw.OK);
        const after = await ctx.dut.snapshot();
        e.that(after.signCounter === before.signCounter + 3, `counter ${before.signCounter + 3}`, `counter ${after.signCounter}`);
      },
    ),

    // ----------------------------------------------------------------- secure-messaging faults
    check(
      {
        id: 'session/sm/no-session',
        title: 'a wrapped VERIFY_PIN (right code) with no session open: 6988, no try spent; then SIGN in a new session is 6982',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        const keys = deriveSession(before.cardId!, hostEphemeral(), hostEphemeral().publicKey);
        e.sw(await sendWrappedData(ctx.dut, Ins.VERIFY_PIN, wrapData(keys, Ins.VERIFY_PIN, SUITE_PIN)), Sw.SECURE_MESSAGING);
        e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    smFault(
      'too-short',
      'a data field of 51 bytes (ctr, iv, 15 bytes of ciphertext, mac)',
      reshaped((d) => concatBytes(d.subarray(0, 35), d.subarray(d.length - 16))),
    ),
    smFault(
      'no-ciphertext',
      'ctr, iv and mac only (36 bytes)',
      reshaped((d) => concatBytes(d.subarray(0, 20), d.subarray(d.length - 16))),
    ),
    smFault(
      'ct-not-blocks',
      'a ciphertext of 49 bytes (one byte added before the MAC)',
      reshaped((d) => concatBytes(d.subarray(0, d.length - 16), Uint8Array.of(0), d.subarray(d.length - 16))),
    ),
    smFault('ctr-repeated', 'the counter of the VERIFY_PIN before it (1 again)', (s) => ({ ctr: s.ctr })),
    smFault('ctr-skipped', 'the counter one too far (3 instead of 2)', (s) => ({ ctr: s.ctr + 2 })),
    smFault('ctr-zero', 'counter 0', () => ({ ctr: 0 })),
    smFault('ctr-high', 'counter 2^32 - 1', () => ({ ctr: 0xffffffff })),
    smFault(
      'mac-first-byte',
      "the MAC's first byte altered",
      reshaped((d) => flip(d, d.length - 16)),
    ),
    smFault(
      'mac-last-byte',
      "the MAC's last byte altered",
      reshaped((d) => flip(d, -1, 0x80)),
    ),
    smFault(
      'mac-extra-block',
      '16 bytes more after a correct MAC (the card then takes them as the MAC)',
      reshaped((d) => concatBytes(d, randomBytes(16))),
    ),
    smFault(
      'mac-over-iv',
      'one bit of the IV flipped after the MAC',
      reshaped((d) => flip(d, 4)),
    ),
    smFault(
      'mac-over-ciphertext',
      'one bit of the last ciphertext block flipped after the MAC',
      reshaped((d) => flip(d, d.length - 17)),
    ),
    smFault('mac-over-ins', 'a MAC computed for INS 20 (VERIFY_PIN) sent with INS 32', (s) => ({
      mutate: () => wrapData({ ...s, ctr: s.ctr - 1 }, Ins.VERIFY_PIN, randomBytes(32)),
    })),
    smFault(
      'mac-zero',
      'an all-zero MAC',
      reshaped((d) => concatBytes(d.subarray(0, d.length - 16), new Uint8Array(16))),
    ),
    smFault('padding-no-80', 'a correct MAC over a plaintext padded with zeros only (no 80)', () => ({
      padded: concatBytes(randomBytes(32), new Uint8Array(16)),
    })),
    smFault('padding-after-80', 'a correct MAC over a plaintext padded 80 01 00..', () => ({
      padded: concatBytes(randomBytes(32), Uint8Array.of(0x80, 0x01), new Uint8Array(14)),
    })),
    smFault('padding-too-long', 'a correct MAC, the digest then 80 and 31 zero bytes (padding longer than a block)', () => ({
      padded: concatBytes(randomBytes(16), Uint8Array.of(0x80), new Uint8Array(31)),
    })),
    check(
      {
        id: 'session/sm/replay-same-session',
        title:
          'a wrapped SIGN sent twice in its session (the same bytes): 9000, ' +
          'then 6988; the counter counted one signature; the session is closed',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const { before, session } = await verifiedSession(ctx);
        const data = wrapData(session, Ins.SIGN, randomBytes(32));
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, data, 256), Sw.OK);
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, data, 256), Sw.SECURE_MESSAGING);
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(session, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
        ctx.dut.session = undefined;
        const after = await ctx.dut.snapshot();
        e.that(after.signCounter === before.signCounter + 1, `counter ${before.signCounter + 1}`, `counter ${after.signCounter}`);
      },
    ),
    check(
      {
        id: 'session/sm/replay-new-session',
        title:
          'a wrapped VERIFY_PIN recorded in session A replayed as the first command of session B: 6988, B closed ' +
          '(SIGN in a new session 6982), nothing changed',
        category: 'session',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        const a = await ctx.dut.openSession();
        const recorded = wrapData(a, Ins.VERIFY_PIN, SUITE_PIN);
        e.sw(await sendWrappedData(ctx.dut, Ins.VERIFY_PIN, recorded), Sw.OK);
        await ctx.dut.openSession();
        e.sw(await sendWrappedData(ctx.dut, Ins.VERIFY_PIN, recorded), Sw.SECURE_MESSAGING);
        ctx.dut.session = undefined;
        e.sw(await ctx.dut.send(CLA, Ins.SIGN, randomBytes(32), 256), Sw.PIN_NOT_VERIFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),

    // ----------------------------------------------------------------- check order (section 3)
    check(
      {
        id: 'order/session/p1p2-before-form',
        title: 'a plain SIGN with P1 01: 6A86 (P1-P2 before the form)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        e.sw(await ctx.dut.plain(CLA, Ins.SIGN, randomBytes(32), 256, 0x01, 0x00), Sw.INCORRECT_P1P2);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/session/form-before-state',
        title: 'a plain SIGN on a BLANK card: 6987, not 6985 (the form before the state)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BLANK');
        e.sw(await ctx.dut.plain(CLA, Ins.SIGN, randomBytes(32), 256), Sw.MUST_BE_WRAPPED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/session/session-before-state',
        title: 'a wrapped SIGN with no session on a BLANK card: 6988, not 6985 (the session before the state)',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('BLANK');
        const keys = deriveSession(before.cardId!, hostEphemeral(), hostEphemeral().publicKey);
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(keys, Ins.SIGN, randomBytes(32)), 256), Sw.SECURE_MESSAGING);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/session/mac-before-state',
        title: 'a wrapped CREATE_WALLET with a wrong MAC in a session on a WALLET card: 6988, not 6985',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        const s = await ctx.dut.openSession();
        e.sw(
          await sendWrappedData(ctx.dut, Ins.CREATE_WALLET, wrapData(s, Ins.CREATE_WALLET, SUITE_PIN, { mutate: (d) => flip(d, -1) }), 256),
          Sw.SECURE_MESSAGING,
        );
        ctx.dut.session = undefined;
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/session/form-before-session',
        title: 'a wrapped READ with no session open: 6882, not 6988 (the form before the session)',
        category: 'check-order',
        destructive: false,
      },
      async (ctx, e) => {
        const before = await personalized(ctx);
        const keys = deriveSession(before.cardId!, hostEphemeral(), hostEphemeral().publicKey);
        e.sw(await sendWrappedData(ctx.dut, Ins.READ, wrapData(keys, Ins.READ, new Uint8Array(0)), 256), Sw.MUST_BE_PLAIN);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'order/session/session-before-pin',
        title: 'a wrapped SIGN with a skipped counter, the code not verified: 6988, not 6982',
        category: 'check-order',
        destructive: false,
        needs: ['fresh-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('WALLET');
        const s = await ctx.dut.openSession();
        e.sw(await sendWrappedData(ctx.dut, Ins.SIGN, wrapData(s, Ins.SIGN, randomBytes(32), { ctr: 2 }), 256), Sw.SECURE_MESSAGING);
        ctx.dut.session = undefined;
        await e.unchanged(ctx.dut, before);
      },
    ),
  ];

  // Each wrapped-only command sent plain: 6987 (the form is checked before anything the command carries).
  const plainData: Record<number, Uint8Array> = {
    [Ins.VERIFY_PIN]: SUITE_PIN, // the RIGHT code: a card that takes it in clear answers 9000
    [Ins.CREATE_WALLET]: SUITE_PIN,
    [Ins.SIGN]: randomBytes(32),
    [Ins.CHANGE_ACCESS_CODE]: changeCodeData(WRONG_PIN, WRONG_PIN), // a wrong current code: a card that takes it spends a try
    [Ins.RESET]: WRONG_PIN,
    [Ins.BACKUP_FINALIZE]: new Uint8Array(0),
  };
  for (const cmd of COMMANDS) {
    if (WRAPPED_ONLY.has(cmd.ins)) {
      checks.push(
        check(
          {
            id: `session/plain-refused/${kebab(cmd.name)}`,
            title: `${cmd.name} sent plain (CLA 80) on a WALLET card, in a session with the code verified: 6987, nothing changed (I6)`,
            category: 'session',
            destructive: false,
            needs: ['fresh-card'],
          },
          async (ctx, e) => {
            const { before } = await verifiedSession(ctx);
            const data = plainData[cmd.ins] ?? cmd.build().data;
            e.sw(await ctx.dut.plain(CLA, cmd.ins, data, 256), Sw.MUST_BE_WRAPPED);
            await e.unchanged(ctx.dut, before);
          },
        ),
      );
    } else {
      checks.push(
        check(
          {
            id: `session/wrapped-refused/${kebab(cmd.name)}`,
            title: `${cmd.name} sent wrapped (CLA 84) in an open session on a WALLET card: 6882, nothing changed`,
            category: 'session',
            destructive: false,
            needs: ['fresh-card'],
          },
          async (ctx, e) => {
            const before = await ctx.reach('WALLET');
            const s = await ctx.dut.openSession();
            const { data } = cmd.build();
            // A copy: the card refuses before the counter, so the host's own counter must not move either.
            e.sw(await sendWrappedData(ctx.dut, cmd.ins, wrapData({ ...s }, cmd.ins, data ?? new Uint8Array(0)), 256), Sw.MUST_BE_PLAIN);
            await e.unchanged(ctx.dut, before);
          },
        ),
      );
    }
  }
  return checks;
}
