/**
 * Runs the suite against a card (and optionally a peer card) behind any ApduTransport: each check in turn,
 * timed, its own APDUs recorded, every outcome classified as pass, fail or not applicable (never a silent
 * skip). Library code: it reports through the returned document and an optional callback, never prints.
 * @module
 */
import type { KeyPair } from '../protocol/keys.js';
import type { ApduTransport } from '../apdu/index.js';
import type { CheckContext } from './checks/common.js';
import { CardUnderTest, certifiedBy, reach, type ReachContext } from './harness.js';
import { buildSuite, matchesOnly } from './suite.js';
import { NotApplicable, type CheckResult, type ConformanceReport } from './types.js';
import { CardAnswerError, ReadFormatError } from './wire.js';
import type { InvalidPoint } from './wycheproof.js';

export interface CardEndpoint {
  readonly transport: ApduTransport;
  /** A name for the report (the reader). */
  readonly name: string;
  /** Makes the card factory-fresh (virtual cards only). */
  readonly reset?: () => Promise<void>;
}

export interface ConformanceOptions {
  readonly card: CardEndpoint;
  readonly peer?: CardEndpoint;
  /** Allow checks and set-up that change the card for good. */
  readonly destructive: boolean;
  /** `--only` patterns (see matchesOnly). */
  readonly only?: string;
  /** The TEST manufacturer key: personalizes FACTORY cards and certifies the software peers. */
  readonly testManufacturer?: KeyPair;
  readonly invalidPoints: readonly InvalidPoint[];
  /** Called after each check, e.g. for a progress line. */
  readonly onResult?: (result: CheckResult) => void;
}

const DUT_ID = Uint8Array.of(0x43, 0x4f, 0x4e, 0x46, 0, 0, 0, 1); // "CONF" 00 00 00 01
const PEER_ID = Uint8Array.of(0x43, 0x4f, 0x4e, 0x46, 0, 0, 0, 2);

export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const started = performance.now();
  const dut = new CardUnderTest({
    transport: options.card.transport,
    cardId: DUT_ID,
    ...(options.card.reset && { reset: options.card.reset }),
  });
  const peer =
    options.peer === undefined
      ? undefined
      : new CardUnderTest({ transport: options.peer.transport, cardId: PEER_ID, ...(options.peer.reset && { reset: options.peer.reset }) });

  // A card whose READ does not parse still gets its table (select/answer and read/answer fail and say why);
  // only a reader or card that cannot be talked to at all ends the run with an error.
  const first = await dut.snapshot().catch((error: unknown) => {
    // No applet under the protocol's AID (6A82): nothing to test, say so rather than fail every check.
    if (error instanceof CardAnswerError && error.sw === 0x6a82) throw error;
    if (error instanceof ReadFormatError || error instanceof CardAnswerError) return undefined;
    throw error;
  });
  const key = options.testManufacturer;
  const resettable = options.destructive && options.card.reset !== undefined;
  // The card trusts the TEST key if its certificate is signed by it, or if the suite personalizes it (a FACTORY
  // card, or an unreadable one the suite will reset).
  const trusted =
    key !== undefined && (first === undefined ? resettable : certifiedBy(first, key) || (options.destructive && first.state === 'FACTORY'));
  const reachContext: ReachContext = {
    destructive: options.destructive,
    manufacturer: trusted ? key : undefined,
    factoryKey: key,
  };
  const ctx: CheckContext = {
    dut,
    peer,
    manufacturer: reachContext.manufacturer,
    invalidPoints: options.invalidPoints,
    reach: (target, o) => reach(dut, target, reachContext, o),
    reachPeer: (target) => {
      if (peer === undefined) throw new NotApplicable('needs a second card: --peer-reader');
      return reach(peer, target, reachContext);
    },
  };

  const results: CheckResult[] = [];
  for (const c of buildSuite(options.invalidPoints)) {
    if (!matchesOnly(c.id, options.only)) continue;
    const t0 = performance.now();
    const info = { id: c.id, title: c.title, category: c.category, destructive: c.destructive, needs: c.needs };
    let result: CheckResult;
    if (c.destructive && !options.destructive) {
      result = { ...info, status: 'not-applicable', expected: '', actual: 'destructive: needs --destructive', sent: [], durationMs: 0 };
    } else if (c.needs.includes('peer-card') && peer === undefined) {
      result = { ...info, status: 'not-applicable', expected: '', actual: 'needs a second card: --peer-reader', sent: [], durationMs: 0 };
    } else {
      dut.recorder.clear();
      try {
        const v = await c.run(ctx);
        result = {
          ...info,
          status: v.pass ? 'pass' : 'fail',
          expected: v.expected,
          actual: v.actual,
          sent: [...dut.log],
          durationMs: performance.now() - t0,
        };
      } catch (error) {
        const na = error instanceof NotApplicable;
        result = {
          ...info,
          status: na ? 'not-applicable' : 'fail',
          expected: na ? '' : 'the check to run to its end',
          actual: na ? (error as Error).message : `${(error as Error).name}: ${(error as Error).message}`,
          sent: [...dut.log],
          durationMs: performance.now() - t0,
        };
      }
    }
    results.push(result);
    options.onResult?.(result);
  }
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  return {
    reader: options.card.name,
    peerReader: options.peer?.name ?? null,
    destructive: options.destructive,
    testManufacturer: trusted,
    results,
    summary: { total: results.length, passed: count('pass'), failed: count('fail'), notApplicable: count('not-applicable') },
    durationMs: performance.now() - started,
  };
}
