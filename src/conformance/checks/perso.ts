/**
 * Personalization (PERSO_GENERATE, PERSO_COMMIT) on a FACTORY card: the order of the two, the lengths,
 * an invalid manufacturer point, a signature over something else, and the happy path with the TEST
 * manufacturer key, after which the card is BLANK and refuses personalization forever.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { equalBytes, signMessage } from '../../protocol/crypto.js';
import { commitData, generate, parseGenerateAnswer, personalize } from '../harness.js';
import { randomKeyPair } from '../soft-card.js';
import { certificateMessage, encodeCertificate, Ins, Sw as IsoSw, Sw as TwincardSw } from '../wire.js';
import { check, CLA, needManufacturer, type Check, type CheckContext, type Expect } from './common.js';

interface Generated {
  readonly identity: Uint8Array;
  readonly attestation: Uint8Array;
}

/** On a FACTORY card: PERSO_GENERATE, then PERSO_COMMIT with the data `make` builds from the two keys. */
async function commitRefused(ctx: CheckContext, e: Expect, make: (keys: Generated) => Uint8Array, want: number): Promise<void> {
  await ctx.reach('FACTORY');
  const keys = await generate(ctx.dut);
  const before = await ctx.dut.snapshot();
  ctx.dut.recorder.clear();
  e.sw(await ctx.dut.send(CLA, Ins.PERSO_COMMIT, make(keys)), want);
  await e.unchanged(ctx.dut, before);
}

export function persoChecks(): Check[] {
  return [
    check(
      {
        id: 'perso/commit-before-generate',
        title:
          'PERSO_COMMIT on a FACTORY card before PERSO_GENERATE: 6985 (a card ' +
          'that cannot be reset is taken to be as the factory delivered it)',
        category: 'personalization',
        destructive: false,
        needs: ['factory-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('FACTORY', { fresh: true });
        e.sw(
          await ctx.dut.send(CLA, Ins.PERSO_COMMIT, commitData(signMessage(randomBytes(8), randomKeyPair().privateKey))),
          IsoSw.CONDITIONS_NOT_SATISFIED,
        );
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'perso/generate-id-length',
        title: 'PERSO_GENERATE with a 7-byte id: 6700',
        category: 'tlv',
        destructive: false,
        needs: ['factory-card'],
      },
      async (ctx, e) => {
        const before = await ctx.reach('FACTORY');
        e.sw(await ctx.dut.send(CLA, Ins.PERSO_GENERATE, randomBytes(7), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(ctx.dut, before);
      },
    ),
    check(
      {
        id: 'perso/generate-again',
        title:
          'PERSO_GENERATE twice: two different identity keys and two different ' +
          'attestation keys (0A 41 .. 0E 41 ..), the four all distinct; still FACTORY',
        category: 'personalization',
        destructive: true,
        needs: ['factory-card'],
      },
      async (ctx, e) => {
        await ctx.reach('FACTORY');
        ctx.dut.known.pristine = false;
        const first = await ctx.dut.send(CLA, Ins.PERSO_GENERATE, ctx.dut.cardId, 256);
        const second = await ctx.dut.send(CLA, Ins.PERSO_GENERATE, ctx.dut.cardId, 256);
        e.sw(first, IsoSw.OK);
        e.sw(second, IsoSw.OK);
        const a = parseGenerateAnswer(first.data);
        const b = parseGenerateAnswer(second.data);
        const keys = a && b ? [a.identity, a.attestation, b.identity, b.attestation] : [];
        const distinct = keys.length === 4 && keys.every((k, i) => keys.every((l, j) => i === j || !equalBytes(k, l)));
        e.that(
          distinct,
          'four distinct keys in two well-formed answers',
          a && b ? 'a key repeated (identity = attestation, or the same pair twice)' : 'a malformed answer',
        );
        const after = await ctx.dut.snapshot();
        e.that(after.state === 'FACTORY', 'still FACTORY', `state ${after.state}`);
      },
    ),
    check(
      {
        id: 'perso/commit-other-manufacturer',
        title: 'PERSO_COMMIT with a correct certificate signature by another manufacturer key than the installed root: 9A01, still FACTORY',
        category: 'personalization',
        destructive: true,
        needs: ['factory-card'],
      },
      (ctx, e) =>
        commitRefused(
          ctx,
          e,
          (k) => commitData(signMessage(certificateMessage(ctx.dut.cardId, k.identity, k.attestation), randomKeyPair().privateKey)),
          TwincardSw.CERT_INVALID,
        ),
    ),
    check(
      {
        id: 'perso/commit-wrong-signature',
        title: 'PERSO_COMMIT with a root signature over another card id: 9A01, still FACTORY',
        category: 'personalization',
        destructive: true,
        needs: ['factory-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        commitRefused(
          ctx,
          e,
          (k) => commitData(signMessage(certificateMessage(randomBytes(8), k.identity, k.attestation), needManufacturer(ctx).privateKey)),
          TwincardSw.CERT_INVALID,
        ),
    ),
    check(
      {
        id: 'perso/commit-keys-swapped',
        title: 'PERSO_COMMIT with a root signature over the two keys swapped: 9A01, still FACTORY',
        category: 'personalization',
        destructive: true,
        needs: ['factory-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        commitRefused(
          ctx,
          e,
          (k) => commitData(signMessage(certificateMessage(ctx.dut.cardId, k.attestation, k.identity), needManufacturer(ctx).privateKey)),
          TwincardSw.CERT_INVALID,
        ),
    ),
    check(
      {
        id: 'perso/commit-trailing-byte',
        title: 'PERSO_COMMIT with a byte after the signature: 6A80',
        category: 'tlv',
        destructive: true,
        needs: ['factory-card', 'test-manufacturer'],
      },
      (ctx, e) =>
        commitRefused(
          ctx,
          e,
          (k) =>
            Uint8Array.of(
              ...commitData(signMessage(certificateMessage(ctx.dut.cardId, k.identity, k.attestation), needManufacturer(ctx).privateKey)),
              0,
            ),
          IsoSw.WRONG_DATA,
        ),
    ),
    check(
      {
        id: 'perso/answer',
        title:
          'personalization with the TEST manufacturer: BLANK, the certificate READ shows is ' +
          'format 02 with both keys and the signature committed; PERSO_GENERATE is then 6985',
        category: 'personalization',
        destructive: true,
        needs: ['factory-card', 'test-manufacturer'],
      },
      async (ctx, e) => {
        await ctx.reach('FACTORY');
        const m = needManufacturer(ctx);
        const p = await personalize(ctx.dut, m);
        const certificate = encodeCertificate({
          cardId: ctx.dut.cardId,
          identityPublicKey: p.identity,
          attestationPublicKey: p.attestation,
          signature: p.signature,
        });
        const info = await ctx.dut.snapshot();
        e.that(
          info.state === 'BLANK' && info.certificate !== undefined && equalBytes(info.certificate, certificate),
          'BLANK with the certificate committed',
          info.state,
        );
        e.sw(await ctx.dut.send(CLA, Ins.PERSO_GENERATE, randomBytes(8), 256), IsoSw.CONDITIONS_NOT_SATISFIED);
        await e.unchanged(ctx.dut, info);
      },
    ),
  ];
}
