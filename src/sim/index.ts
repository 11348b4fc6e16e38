/**
 * The virtual cards (pcscd with vpcd readers, one jCardSim JVM per card, started by `scripts/sim.sh up`): their
 * reader layout, the control-socket client, status, and what can be done to a card. Library code: it never
 * prints; `twincard sim`, the benches and the integration tests all go through it.
 * @module
 */
export { readerCount, readerOfPort, simReaderName, simReaderPort, vpcdEntries } from './layout.js';
export {
  exchangeControlLine,
  MAX_ANSWER_BYTES,
  parseCardStatus,
  parseCommandAnswer,
  simCardStatus,
  simControl,
  SimControlError,
} from './control.js';
export { simStatus, type SimReaderStatus, type SimStatus } from './status.js';
export {
  armPullAfterNext,
  cardApplet,
  cardRoot,
  insertCard,
  installApplet,
  pullCard,
  putCard,
  requireRunning,
  setCardRoot,
  simCardForReader,
  SimCardNotRunningError,
  SimRequestError,
  wipeCard,
} from './cards.js';
export { rootPointHex, RootKeyError } from './root-key.js';
