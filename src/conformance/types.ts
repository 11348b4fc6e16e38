/**
 * The shapes of the conformance suite: a check (what it tests, what it needs, how to run it) and its
 * result (what was sent, what was expected, what came back). Pure types and two small errors.
 * @module
 */

/** Groups for the table and for `--only`. */
export type Category =
  | 'transport'
  | 'header'
  | 'state-machine'
  | 'tlv'
  | 'access-code'
  | 'wallet'
  | 'attestation'
  | 'personalization'
  | 'backup-card'
  | 'import'
  | 'export'
  | 'finalize'
  | 'check-order'
  | 'invariant'
  | 'invalid-point'
  | 'attacker'
  | 'session'
  | 'peer';

/**
 * What a check needs besides a card that speaks the protocol:
 * - `test-manufacturer`: the card trusts the TEST manufacturer key (fixtures/test-manufacturer), so the
 *   host can play a software primary or backup card with a certified identity;
 * - `factory-card`: a card in FACTORY state (it personalizes the card);
 * - `peer-card`: a second card in `--peer-reader`;
 * - `fresh-card`: a card the suite can bring to the state it needs (BLANK or FACTORY, or a card it may reset).
 */
export type Need = 'test-manufacturer' | 'factory-card' | 'peer-card' | 'fresh-card';

export type CheckStatus = 'pass' | 'fail' | 'not-applicable';

/** One exchange as the result shows it: the command (secrets redacted) and the status word. */
export interface Exchange {
  /** Command APDU in hex; secret data (access codes, wallet blobs) replaced by `[redacted N bytes]`. */
  readonly command: string;
  /** Status word, 4 hex digits. */
  readonly sw: string;
  /** Response data length in bytes (the data itself is not kept: it may be secret). */
  readonly responseBytes: number;
}

export interface CheckInfo {
  /** Stable kebab-case id with `/` between levels, e.g. `invalid-point/export-eb/wycheproof-475`. */
  readonly id: string;
  readonly title: string;
  readonly category: Category;
  /**
   * Changes the card's persistent state irreversibly (personalizes it, creates or imports a wallet, blocks its PIN):
   * needs `--destructive`.
   */
  readonly destructive: boolean;
  readonly needs: readonly Need[];
}

export interface CheckResult extends CheckInfo {
  readonly status: CheckStatus;
  /** What the protocol wants (status word and behaviour). */
  readonly expected: string;
  /** What the card did; for not-applicable, why the check did not run. */
  readonly actual: string;
  /** The check's own APDUs (set-up excluded), in order. */
  readonly sent: readonly Exchange[];
  readonly durationMs: number;
}

export interface ConformanceReport {
  readonly reader: string;
  readonly peerReader: string | null;
  readonly destructive: boolean;
  /** Whether the card under test trusts the TEST manufacturer key (checks needing it ran). */
  readonly testManufacturer: boolean;
  readonly results: readonly CheckResult[];
  readonly summary: {
    readonly total: number;
    readonly passed: number;
    readonly failed: number;
    readonly notApplicable: number;
  };
  readonly durationMs: number;
}

/** Thrown inside a check that cannot run here (missing card, key or permission): reported, never passed. */
export class NotApplicable extends Error {
  override readonly name = 'NotApplicable';
}
