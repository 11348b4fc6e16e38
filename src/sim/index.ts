/**
 * The virtual cards (pcscd with vpcd readers, one jCardSim JVM per card, started by `scripts/sim.sh up`): their
 * reader layout, the control-socket client, status, and what can be done to a card. Library code: it never
 * prints; `twincard sim`, the benches and the integration tests all go through it.
 * @module
 */
export {
  readerCount,
  readerOfPort,
  simReaderName,
  simReaderPort,
  vpcdEntries,
  vpcdEntry,
  VPCD_BASE_PORT,
  type VpcdEntry,
} from './layout.js';
export {
  controlSocketPath,
  exchangeControlLine,
  MAX_ANSWER_BYTES,
  parseCardStatus,
  parseCommandAnswer,
  simCardStatus,
  simControl,
  SimControlError,
  type CardControlStatus,
  type CardPresence,
  type CommandAnswer,
} from './control.js';
export { listCardIndices, readerOfStatus, simStatus, type SimCardStatus, type SimReaderStatus, type SimStatus } from './status.js';
export {
  armPullAfterNext,
  cardApplet,
  cardRoot,
  homeAllCards,
  insertCard,
  installApplet,
  pullCard,
  putCard,
  requireRunning,
  setCardRoot,
  simCardForReader,
  SimCardNotRunningError,
  SimRequestError,
  waitForSimCards,
  wipeCard,
} from './cards.js';
export { rootPointHex, RootKeyError } from './root-key.js';
