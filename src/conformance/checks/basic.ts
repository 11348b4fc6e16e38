/**
 * SELECT, READ, response chaining, the header words (CLA, INS, P1-P2) and the order of the checks of
 * section 3, and ATTEST: nothing here changes a conforming card, so it runs on any card as it is.
 * @module
 */
import { randomBytes, concatBytes } from '@noble/hashes/utils.js';
import { toHex } from '../../apdu/index.js';
import { equalBytes } from '../../protocol/crypto.js';
import { attestationKey, identityKey, verifies, type CardUnderTest } from '../harness.js';
import { NotApplicable } from '../types.js';
import { AID, attestationMessage, Ins, parseCertificate, STATES, Sw as IsoSw, type ReadInfo } from '../wire.js';
import { check, CLA, swHex, type Check, type CheckContext, type Expect } from './common.js';
import { COMMANDS, kebab } from './commands.js';

const SELECT_APDU = concatBytes(Uint8Array.of(0x00, Ins.SELECT, 0x04, 0x00, AID.length), AID, Uint8Array.of(0x00));

/** A header word the card checks before anything else: these APDUs, sent as they are after SELECT, each answer `want`. */
interface RawHeaderCheck {
  readonly id: string;
  readonly title: string;
  readonly apdus: readonly Uint8Array[];
  readonly want: number;
}

const RAW_HEADER_CHECKS: readonly RawHeaderCheck[] = [
  {
    id: 'header/cla-00',
    title: 'a twincard INS with CLA 00 is 6E00',
    apdus: [Uint8Array.of(0x00, Ins.READ, 0, 0, 0)],
    want: IsoSw.CLA_NOT_SUPPORTED,
  },
  { id: 'header/cla-b0', title: 'CLA B0 is 6E00', apdus: [Uint8Array.of(0xb0, Ins.READ, 0, 0, 0)], want: IsoSw.CLA_NOT_SUPPORTED },
  {
    id: 'header/ins-unknown',
    title: 'unknown INS 11, 5C and FE are 6D00',
    apdus: [0x11, 0x5c, 0xfe].map((ins) => Uint8Array.of(CLA, ins, 0, 0, 0)),
    want: IsoSw.INS_NOT_SUPPORTED,
  },
  {
    id: 'header/order-cla-before-ins',
    title: 'wrong CLA and unknown INS: 6E00 (CLA is checked first)',
    apdus: [Uint8Array.of(0x00, 0x11, 0x01, 0, 0)],
    want: IsoSw.CLA_NOT_SUPPORTED,
  },
  {
    id: 'header/order-ins-before-p1p2',
    title: 'unknown INS and P1 01: 6D00 (INS before P1-P2)',
    apdus: [Uint8Array.of(CLA, 0x11, 0x01, 0x01, 0)],
    want: IsoSw.INS_NOT_SUPPORTED,
  },
];

function rawHeaderCheck({ id, title, apdus, want }: RawHeaderCheck): Check {
  return check({ id, title, category: 'header', destructive: false }, async ({ dut }, e) => {
    await dut.select();
    dut.recorder.clear();
    for (const apdu of apdus) e.sw(await dut.raw(apdu), want);
  });
}

export function basicChecks(): Check[] {
  const checks: Check[] = [
    check(
      { id: 'select/answer', title: 'SELECT answers 9000 with VERSION 02 and the STATE', category: 'transport', destructive: false },
      async ({ dut }, e) => {
        const info = await dut.snapshot();
        dut.recorder.clear();
        const r = await dut.raw(SELECT_APDU);
        e.sw(r, IsoSw.OK);
        const want = `01010203010${STATES.indexOf(info.state)}`;
        e.that(toHex(r.data) === want, `data ${want}`, `data ${toHex(r.data)}`);
      },
    ),
    check(
      {
        id: 'read/answer',
        title: 'READ answers the fields its state requires, in order, and nothing else',
        category: 'transport',
        destructive: false,
      },
      async ({ dut }, e) => {
        await dut.select();
        dut.recorder.clear();
        try {
          const info = await dut.read();
          e.that(true, 'a well-formed READ answer', '');
          if (info.certificate !== undefined && info.cardId !== undefined) {
            const cert = parseCertificate(info.certificate);
            e.that(equalBytes(cert.cardId, info.cardId), 'certificate card id = CARD_ID', 'certificate names another card id');
          }
        } catch (error) {
          e.that(false, 'a well-formed READ answer', (error as Error).message);
        }
      },
    ),
    check(
      {
        id: 'read/response-chaining',
        title: 'READ with Le 08 comes in 8-byte parts with 61xx, fetched with GET RESPONSE (CLA 00)',
        category: 'transport',
        destructive: false,
      },
      async ({ dut }, e) => {
        await responseChaining(dut, 0x00, e);
      },
    ),
    check(
      {
        id: 'read/get-response-cla-80',
        title: 'GET RESPONSE with CLA 80 works as well as CLA 00',
        category: 'transport',
        destructive: false,
      },
      async ({ dut }, e) => {
        await responseChaining(dut, 0x80, e);
      },
    ),
    check({ id: 'read/data-refused', title: 'READ with data is 6700', category: 'tlv', destructive: false }, async ({ dut }, e) => {
      const before = await dut.snapshot();
      dut.recorder.clear();
      e.sw(await dut.send(CLA, Ins.READ, Uint8Array.of(0), 256), IsoSw.WRONG_LENGTH);
      await e.unchanged(dut, before);
    }),
    ...RAW_HEADER_CHECKS.map(rawHeaderCheck),
    check(
      {
        id: 'header/order-p1p2-before-state',
        title: 'a command refused in this state, with P1 01: 6A86 (P1-P2 before state)',
        category: 'header',
        destructive: false,
      },
      async ({ dut }, e) => {
        const before = await dut.snapshot();
        dut.recorder.clear();
        const ins = before.state === 'FACTORY' ? Ins.SIGN : Ins.PERSO_GENERATE;
        e.sw(await dut.send(CLA, ins, randomBytes(8), 256, 0x01, 0x00), IsoSw.INCORRECT_P1P2);
        await e.unchanged(dut, before);
      },
    ),
    check(
      {
        id: 'attest/answer',
        title:
          'ATTEST signs "TWINCARD:ATTEST1" || id || challenge (16 and 32 bytes) ' +
          'under the certified ATTESTATION key, and not under the identity key',
        category: 'attestation',
        destructive: false,
      },
      async (ctx, e) => {
        const dut = ctx.dut;
        const info = await personalized(ctx);
        if (info.certificate === undefined || info.cardId === undefined) throw new NotApplicable('needs a personalized card');
        const key = attestationKey(info);
        const identity = identityKey(info);
        dut.recorder.clear();
        for (const n of [16, 32]) {
          const challenge = randomBytes(n);
          const r = await dut.cmd(Ins.ATTEST, challenge);
          e.sw(r, IsoSw.OK);
          const wellFormed = r.data[0] === 0x0b && r.data[1] === r.data.length - 2;
          const message = attestationMessage(info.cardId, challenge);
          e.that(
            wellFormed && verifies(r.data.subarray(2), message, key),
            `${n}-byte challenge: signature verifies under the attestation key`,
            `${n}-byte challenge: signature does not verify under the attestation key`,
          );
          e.that(
            !verifies(r.data.subarray(2), message, identity),
            `${n}-byte challenge: not a signature by the identity key`,
            `${n}-byte challenge: signed by the IDENTITY key`,
          );
        }
      },
    ),
    check(
      { id: 'attest/challenge-length', title: 'ATTEST with a 15- or 33-byte challenge is 6700', category: 'tlv', destructive: false },
      async (ctx, e) => {
        const dut = ctx.dut;
        const before = await personalized(ctx);
        dut.recorder.clear();
        for (const n of [15, 33]) e.sw(await dut.send(CLA, Ins.ATTEST, randomBytes(n), 256), IsoSw.WRONG_LENGTH);
        await e.unchanged(dut, before);
      },
    ),
  ];
  for (const cmd of COMMANDS) {
    checks.push(
      check(
        {
          id: `header/p1p2/${kebab(cmd.name)}`,
          title: `${cmd.name} with P1 01, then with P2 01: 6A86, nothing changed`,
          category: 'header',
          destructive: false,
        },
        async ({ dut }, e) => {
          const before = await dut.snapshot();
          dut.recorder.clear();
          const { data, ne } = cmd.build();
          e.sw(await dut.send(CLA, cmd.ins, data, ne, 0x01, 0x00), IsoSw.INCORRECT_P1P2);
          e.sw(await dut.send(CLA, cmd.ins, data, ne, 0x00, 0x01), IsoSw.INCORRECT_P1P2);
          await e.unchanged(dut, before);
        },
      ),
    );
  }
  return checks;
}

/** The card as it is, or brought to BLANK when it is still FACTORY (ATTEST needs a personalized card). */
async function personalized(ctx: CheckContext): Promise<ReadInfo> {
  const seen = await ctx.dut.snapshot();
  return seen.state === 'FACTORY' ? ctx.reach('BLANK') : seen;
}

/** READ in parts: the first answer is 8 bytes and 61xx, GET RESPONSE until 9000; the whole equals a plain READ. */
async function responseChaining(dut: CardUnderTest, getResponseCla: number, e: Expect): Promise<void> {
  await dut.select();
  const whole = await dut.send(CLA, Ins.READ, undefined, 256);
  dut.recorder.clear();
  // Le 08: even a FACTORY card's 18-byte READ answer needs three parts.
  let r = await dut.raw(Uint8Array.of(CLA, Ins.READ, 0, 0, 0x08));
  const parts: Uint8Array[] = [r.data];
  e.that(
    r.sw >> 8 === 0x61 && r.data.length === 8,
    'first part: 8 bytes and 61xx',
    `first part: ${r.data.length} bytes and ${swHex(r.sw)}`,
  );
  for (let i = 0; i < 20 && r.sw >> 8 === 0x61; i++) {
    r = await dut.raw(Uint8Array.of(getResponseCla, 0xc0, 0, 0, r.sw & 0xff));
    parts.push(r.data);
  }
  e.sw(r, IsoSw.OK);
  const joined = concatBytes(...parts);
  e.that(
    equalBytes(joined, whole.data),
    'the parts join into the READ answer',
    `${joined.length} bytes joined, ${whole.data.length} in one READ, or they differ`,
  );
}
