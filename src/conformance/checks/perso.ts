/**
 * Personalization (PERSO_GENERATE, PERSO_COMMIT) on a FACTORY card: the order of the two, the lengths,
 * an invalid manufacturer point, a signature over something else, and the happy path with the TEST
 * manufacturer key, after which the card is BLANK and refuses personalization forever.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs } from '../../apdu/index.js';
import { encodeCertificate } from '../../protocol/certificate.js';
import { equalBytes, signMessage } from '../../protocol/crypto.js';
import { certificateMessage } from '../../protocol/messages.js';
import { personalize } from '../harness.js';
import { randomKeyPair } from '../soft-card.js';
import { Ins, Sw as IsoSw, Sw as TwincardSw, Tag } from '../wire.js';
import type { InvalidPoint } from '../wycheproof.js';
import { check, CLA, needManufacturer, type Check, type CheckContext, type Expect } from './common.js';

const commitData = (signature: Uint8Array, key: Uint8Array) => encodeProtocolTlvs([[Tag.SIGNATURE, signature], [Tag.MANUFACTURER_PUBLIC_KEY, key]]);

/** On a FACTORY card: PERSO_GENERATE, then PERSO_COMMIT with the data `make` builds from the identity key. */
async function commitRefused(ctx: CheckContext, e: Expect, make: (identity: Uint8Array) => Uint8Array, want: number): Promise<void> {
  await ctx.reach('FACTORY');
  ctx.dut.known.pristine = false;
  const identity = (await ctx.dut.expectOk('PERSO_GENERATE', Ins.PERSO_GENERATE, ctx.dut.cardId)).data.slice(2);
  const before = await ctx.dut.snapshot();
  ctx.dut.recorder.clear();
  e.sw(await ctx.dut.send(CLA, Ins.PERSO_COMMIT, make(identity)), want);
  await e.unchanged(ctx.dut, before);
}

export function persoChecks(invalidPoints: readonly InvalidPoint[]): Check[] {
  const point = invalidPoints[0]?.point ?? Uint8Array.of(0x04, ...new Uint8Array(64));
  return [
    check(
      { id: 'perso/commit-before-generate', title: 'PERSO_COMMIT on a FACTORY card before PERSO_GENERATE: 6985 (a card that cannot be reset is taken to be as the factory delivered it)', category: 'personalization', destructive: false, needs: ['factory-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('FACTORY', { fresh: true });
        const m = randomKeyPair();
        e.sw(await ctx.dut.send(CLA, Ins.PERSO_COMMIT, commitData(signMessage(randomBytes(8), m.privateKey), m.publicKey)), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'perso/generate-id-length', title: 'PERSO_GENERATE with a 7-byte id: 6700', category: 'tlv', destructive: false, needs: ['factory-card'] },
      async (ctx, e) => {
        const before = await ctx.reach('FACTORY');
        e.sw(await ctx.dut.send(CLA, Ins.PERSO_GENERATE, randomBytes(7), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      { id: 'perso/generate-again', title: 'PERSO_GENERATE twice: a new identity key each time, the card still FACTORY', category: 'personalization', destructive: true, needs: ['factory-card'] },
      async (ctx, e) => {
        await ctx.reach('FACTORY');
        ctx.dut.known.pristine = false;
        const first = await ctx.dut.send(CLA, Ins.PERSO_GENERATE, ctx.dut.cardId, 256);
        const second = await ctx.dut.send(CLA, Ins.PERSO_GENERATE, ctx.dut.cardId, 256);
        e.sw(first, IsoSw.OK);
        e.sw(second, IsoSw.OK);
        e.that(first.data.length === 67 && second.data.length === 67 && !equalBytes(first.data, second.data), 'two different identity keys (0A 41 ...)', 'the same key twice, or a malformed answer');
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'FACTORY', 'still FACTORY', `state ${after.state}`);
      },
    ),
    check(
      { id: 'perso/commit-invalid-manufacturer-key', title: 'PERSO_COMMIT with a manufacturer key off the curve (Wycheproof): 9A04, still FACTORY', category: 'invalid-point', destructive: true, needs: ['factory-card'] },
      (ctx, e) => commitRefused(ctx, e, (identity) => commitData(signMessage(certificateMessage(ctx.dut.cardId, identity), randomKeyPair().privateKey), point), TwincardSw.POINT_INVALID),
    ),
    check(
      { id: 'perso/commit-wrong-signature', title: 'PERSO_COMMIT with a manufacturer signature over another card id: 9A01, still FACTORY', category: 'personalization', destructive: true, needs: ['factory-card'] },
      (ctx, e) => {
        const m = randomKeyPair();
        return commitRefused(ctx, e, (identity) => commitData(signMessage(certificateMessage(randomBytes(8), identity), m.privateKey), m.publicKey), TwincardSw.CERT_INVALID);
      },
    ),
    check(
      { id: 'perso/commit-trailing-byte', title: 'PERSO_COMMIT with a byte after the key: 6A80', category: 'tlv', destructive: true, needs: ['factory-card'] },
      (ctx, e) => {
        const m = randomKeyPair();
        return commitRefused(ctx, e, (identity) => Uint8Array.of(...commitData(signMessage(certificateMessage(ctx.dut.cardId, identity), m.privateKey), m.publicKey), 0), IsoSw.WRONG_DATA);
      },
    ),
    check(
      { id: 'perso/answer', title: 'personalization with the TEST manufacturer: BLANK, the certificate READ shows is the one signed; PERSO_GENERATE is then 6985', category: 'personalization', destructive: true, needs: ['factory-card', 'test-manufacturer'] },
      async (ctx, e) => {
        await ctx.reach('FACTORY');
        const m = ctx.manufacturer ?? needManufacturer(ctx);
        const identity = await personalize(ctx.dut, m);
        const certificate = encodeCertificate({ cardId: ctx.dut.cardId, identityPublicKey: identity, signature: signMessage(certificateMessage(ctx.dut.cardId, identity), m.privateKey) });
        const info = await ctx.dut.snapshot();
        // ECDSA here is deterministic (RFC 6979), so the signature the suite committed is made again.
        e.that(info.state === 'BLANK' && info.certificate !== undefined && equalBytes(info.certificate, certificate), 'BLANK with the certificate committed', `${info.state}`);
        e.sw(await ctx.dut.send(CLA, Ins.PERSO_GENERATE, randomBytes(8), 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, info);
      },
    ),
  ];
}
