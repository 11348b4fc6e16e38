/**
 * The host's session randomness (eH, IVs) while recording the backup transcripts; the replay test uses the
 * same seed so that the host sends the recorded OPEN_SESSION and wrapped commands again, byte for byte.
 * @module
 */
export const TRANSCRIPT_SEED = 'twincard backup-1-2 transcripts';

/** The same for the trace-redaction transcripts (test/integration/support/record-redaction.ts). */
export const REDACTION_SEED = 'twincard redaction transcripts';

/** The host's session randomness of the recorded `twincard backup --record` runs (TWINCARD_TEST_SESSION_SEED). */
export const RECORD_SEED = 'twincard backup --record transcripts';
