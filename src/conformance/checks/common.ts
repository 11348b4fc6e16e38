/**
 * What every check is made of: its definition, the context it runs in, and `Expect`, which collects what
 * the protocol wants and what the card did, so a check reads as a list of expectations.
 * @module
 */
import type { ResponseApdu } from '../../apdu/index.js';
import { equalBytes } from '../../protocol/crypto.js';
import type { KeyPair } from '../../protocol/keys.js';
import { CLA, sameIds, type CardUnderTest, type Target } from '../harness.js';
import { Ins, swHex, type ReadInfo } from '../wire.js';
import type { InvalidPoint } from '../wycheproof.js';
import { NotApplicable, type CheckInfo } from '../types.js';
import { randomKeyPair, SoftCard } from '../soft-card.js';

export interface CheckContext {
  readonly dut: CardUnderTest;
  readonly peer: CardUnderTest | undefined;
  /** The TEST manufacturer key when the card under test trusts it. */
  readonly manufacturer: KeyPair | undefined;
  readonly invalidPoints: readonly InvalidPoint[];
  /** Brings the card under test to `target` (see harness.ts) and returns its snapshot. */
  reach(target: Target, options?: { fresh?: boolean }): Promise<ReadInfo>;
  /** The same for the peer card. */
  reachPeer(target: Target): Promise<ReadInfo>;
}

export interface Verdict {
  readonly pass: boolean;
  readonly expected: string;
  readonly actual: string;
}

export interface Check extends CheckInfo {
  run(ctx: CheckContext): Promise<Verdict>;
}

/** The checks format status words as the rest of the suite does. */
export { swHex };

/** Collects expectations; the check passes when every one held. */
export class Expect {
  readonly #expected: string[] = [];
  readonly #actual: string[] = [];
  #failed = false;

  /** The status word is one of `want`. */
  sw(response: ResponseApdu, ...want: number[]): boolean {
    const ok = want.includes(response.sw);
    this.#expected.push(`SW ${want.map(swHex).join(' or ')}`);
    this.#actual.push(`SW ${swHex(response.sw)}`);
    if (!ok) this.#failed = true;
    return ok;
  }

  /** A condition, with what was wanted and what was seen. */
  that(ok: boolean, expected: string, actual: string): boolean {
    this.#expected.push(expected);
    this.#actual.push(ok ? expected : actual);
    if (!ok) this.#failed = true;
    return ok;
  }

  /** READ shows nothing changed since `before` (state, keys, counters, tries, backup count and ids). */
  async unchanged(dut: CardUnderTest, before: ReadInfo): Promise<boolean> {
    let after: ReadInfo;
    try {
      after = await dut.snapshot();
    } catch (error) {
      return this.that(false, 'READ unchanged', `READ answer no longer well-formed: ${(error as Error).message}`);
    }
    const diffs = diffInfo(before, after);
    return this.that(diffs.length === 0, 'READ unchanged', `READ changed: ${diffs.join(', ')}`);
  }

  get verdict(): Verdict {
    return { pass: !this.#failed, expected: this.#expected.join('; '), actual: this.#actual.join('; ') };
  }
}

/** The fields of two READ answers that differ, described. */
function diffInfo(a: ReadInfo, b: ReadInfo): string[] {
  const diffs: string[] = [];
  const bytes = (x?: Uint8Array, y?: Uint8Array) => (x === undefined ? y === undefined : y !== undefined && equalBytes(x, y));
  if (a.state !== b.state) diffs.push(`state ${a.state} -> ${b.state}`);
  if (!bytes(a.cardId, b.cardId)) diffs.push('card id');
  if (!bytes(a.certificate, b.certificate)) diffs.push('certificate');
  if (!bytes(a.walletPublicKey, b.walletPublicKey)) diffs.push('wallet public key');
  if (a.walletOrigin !== b.walletOrigin) diffs.push(`wallet origin ${a.walletOrigin ?? 'none'} -> ${b.walletOrigin ?? 'none'}`);
  if (a.pinTriesLeft !== b.pinTriesLeft) diffs.push(`PIN tries ${a.pinTriesLeft} -> ${b.pinTriesLeft}`);
  if (a.signCounter !== b.signCounter) diffs.push(`sign counter ${a.signCounter} -> ${b.signCounter}`);
  if (a.backupCount !== b.backupCount) diffs.push(`backup count ${a.backupCount} -> ${b.backupCount}`);
  if (!sameIds(a.backupCardIds, b.backupCardIds)) diffs.push('backup card ids');
  if (!bytes(a.primaryId, b.primaryId)) diffs.push('primary id');
  return diffs;
}

/** Builds a check from its fields and a body that fills an Expect. */
export function check(
  info: Omit<CheckInfo, 'needs'> & { needs?: CheckInfo['needs'] },
  body: (ctx: CheckContext, e: Expect) => Promise<void>,
): Check {
  return {
    id: info.id,
    title: info.title,
    category: info.category,
    destructive: info.destructive,
    needs: info.needs ?? [],
    async run(ctx) {
      const e = new Expect();
      await body(ctx, e);
      return e.verdict;
    },
  };
}

export function needManufacturer(ctx: CheckContext): KeyPair {
  if (ctx.manufacturer === undefined) {
    throw new NotApplicable('needs a card personalized with the TEST manufacturer key (the host plays a certified peer)');
  }
  return ctx.manufacturer;
}

/**
 * A software peer: certified by the TEST key when the card trusts it, else by a random key (for checks the card
 * must refuse before the certificate matters).
 */
export function somePeer(ctx: CheckContext): SoftCard {
  return SoftCard.create(ctx.manufacturer ?? randomKeyPair());
}

export function flip(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  const i = index < 0 ? out.length + index : index;
  out[i] = (out[i] as number) ^ mask;
  return out;
}

export { CLA };

/** A non-negative integer below 2^256 as 32 big-endian bytes. */
export function be32(n: bigint): Uint8Array {
  if (n < 0n || n >= 2n ** 256n) throw new RangeError('be32: out of range');
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

/** A command a refusal sends: `send(CLA, ins, data, ne)`, wrapped where the protocol wraps it (as a correct host does). */
export interface Sent {
  readonly ins: number;
  readonly data?: Uint8Array;
  readonly ne?: number;
}

/** The commonest expectation: from `from` (after `setUp`, e.g. VERIFY_PIN), each command answers `want` and READ shows nothing changed. */
export interface Refusal {
  readonly from: Target;
  readonly setUp?: (ctx: CheckContext) => Promise<unknown>;
  /** The commands, made when the check runs (fresh random data each run), from the card's READ before. */
  readonly sends: (before: ReadInfo) => readonly Sent[];
  readonly want: number;
}

async function expectRefused(ctx: CheckContext, e: Expect, refusal: Refusal): Promise<void> {
  const before = await ctx.reach(refusal.from);
  await refusal.setUp?.(ctx);
  for (const { ins, data, ne } of refusal.sends(before)) e.sw(await ctx.dut.send(CLA, ins, data, ne), refusal.want);
  await e.unchanged(ctx.dut, before);
}

/** A check that is one {@link Refusal}. */
export function refusalCheck(info: Parameters<typeof check>[0], refusal: Refusal): Check {
  return check(info, (ctx, e) => expectRefused(ctx, e, refusal));
}

/** A {@link Refusal}'s set-up: the access code verified in the current session. */
export const verifyFirst = (ctx: CheckContext): Promise<void> => ctx.dut.verify();

/** BACKUP_EXPORT with these bytes to a WALLET card, access code verified: `want`, nothing changed. */
export function exportRefused(ctx: CheckContext, e: Expect, data: Uint8Array, want: number): Promise<void> {
  return expectRefused(ctx, e, { from: 'WALLET', setUp: verifyFirst, sends: () => [{ ins: Ins.BACKUP_EXPORT, data, ne: 256 }], want });
}

/** BACKUP_IMPORT with these bytes to a BACKUP_PENDING card: `want`, nothing changed. */
export function importRefusedRaw(ctx: CheckContext, e: Expect, data: (cardId: Uint8Array) => Uint8Array, want: number): Promise<void> {
  return expectRefused(ctx, e, {
    from: 'BACKUP_PENDING',
    sends: (before) => [{ ins: Ins.BACKUP_IMPORT, data: data(before.cardId!), ne: 256 }],
    want,
  });
}
