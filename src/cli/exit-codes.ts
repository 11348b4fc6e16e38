/**
 * Process exit codes of the `twincard` command. Scripts and benches branch on these, so they are part of the
 * public interface: never renumber, only add.
 */
export const ExitCode = {
  /** Done. */
  OK: 0,
  /** A bug or an error nobody classified: the message says what happened. */
  UNEXPECTED: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** pcscd is not running or not reachable. */
  PCSC_UNAVAILABLE: 3,
  /** No reader, no reader matching --reader, or several matching. */
  NO_READER: 4,
  /** No card in the reader, the card was removed, or none was tapped in time. */
  NO_CARD: 5,
  /** The card is not genuine: its certificate or attestation signature does not verify. */
  NOT_GENUINE: 6,
  /** Wrong access code, or the access code is blocked. */
  WRONG_PIN: 7,
  /** The card refused a command of the protocol (a status word other than 9000). */
  CARD_REFUSED: 8,
  /** Interrupted part-way; `twincard backup --resume` continues from the journal. */
  INTERRUPTED_RESUMABLE: 9,
  /** `twincard conformance`: at least one check failed (the card does not conform to docs/protocol.md). */
  CONFORMANCE_FAILED: 10,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
