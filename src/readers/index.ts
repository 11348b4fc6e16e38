/**
 * Transports: PC/SC over pcsclite (the library's only I/O), reader selection, the APDU trace.
 * @module
 */
export { CardWaitTimeoutError, PcscError, ReaderSelectionError, toPcscError, type PcscErrorKind } from './errors.js';
export { PcscCard, PcscService, type ReaderEvent, type ReaderState } from './pcsc.js';
export { resolveReader } from './select.js';
export { TracingTransport } from './trace.js';
export { oneLine, SessionRecording, splitPresentations, type PresentationSource, type RecordedPresentation } from './recording.js';
export { parseTranscript, RecordingTransport, ReplayTransport, type Exchange } from './transcript.js';
