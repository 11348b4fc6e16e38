/**
 * Every command of docs/protocol.md section 6 as a well-formed APDU with plausible data: what the state
 * machine and P1-P2 checks send. The data is right in form and meaningless in content (a stranger's
 * certificate, a random blob), so a card that refuses in the right place answers the word the check wants
 * and a card that does not is caught by its answer or by READ afterwards.
 * @module
 */
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { encodeProtocolTlvs } from '../../apdu/index.js';
import { commitData, exportData, importData, SUITE_PIN } from '../harness.js';
import { openSessionData } from '../session.js';
import { randomKeyPair, SoftCard } from '../soft-card.js';
import { BLOB_VERSION, Ins, Tag, type CommandName } from '../wire.js';

export type ProtocolCommand = Exclude<CommandName, 'SELECT'>;

export interface CommandShape {
  readonly name: ProtocolCommand;
  readonly ins: number;
  /** Data and Le of a well-formed instance. */
  build(): { data?: Uint8Array; ne: number };
}

function stranger(): SoftCard {
  return SoftCard.create(randomKeyPair());
}

export const COMMANDS: readonly CommandShape[] = [
  { name: 'READ', ins: Ins.READ, build: () => ({ ne: 256 }) },
  { name: 'VERIFY_PIN', ins: Ins.VERIFY_PIN, build: () => ({ data: SUITE_PIN, ne: 0 }) },
  { name: 'CREATE_WALLET', ins: Ins.CREATE_WALLET, build: () => ({ data: SUITE_PIN, ne: 256 }) },
  { name: 'SIGN', ins: Ins.SIGN, build: () => ({ data: randomBytes(32), ne: 256 }) },
  { name: 'ATTEST', ins: Ins.ATTEST, build: () => ({ data: randomBytes(32), ne: 256 }) },
  { name: 'OPEN_SESSION', ins: Ins.OPEN_SESSION, build: () => ({ data: openSessionData(randomKeyPair().publicKey), ne: 256 }) },
  { name: 'CHANGE_ACCESS_CODE', ins: Ins.CHANGE_ACCESS_CODE, build: () => ({ data: changeCodeData(SUITE_PIN, NEW_PIN), ne: 0 }) },
  { name: 'RESET', ins: Ins.RESET, build: () => ({ data: SUITE_PIN, ne: 0 }) },
  { name: 'BACKUP_PREPARE', ins: Ins.BACKUP_PREPARE, build: () => ({ ne: 256 }) },
  { name: 'BACKUP_CANCEL', ins: Ins.BACKUP_CANCEL, build: () => ({ ne: 0 }) },
  {
    name: 'BACKUP_EXPORT',
    ins: Ins.BACKUP_EXPORT,
    build: () => ({ data: exportData(stranger().prepare(randomKeyPair().publicKey)), ne: 256 }),
  },
  { name: 'BACKUP_FINALIZE', ins: Ins.BACKUP_FINALIZE, build: () => ({ ne: 256 }) },
  {
    name: 'BACKUP_IMPORT',
    ins: Ins.BACKUP_IMPORT,
    build: () => {
      const s = stranger().seal(randomBytes(8), randomKeyPair().publicKey, new Uint8Array(128));
      return { data: importData({ ...s, blob: concatBytes(Uint8Array.of(BLOB_VERSION), randomBytes(192)) }), ne: 256 };
    },
  },
  { name: 'PERSO_GENERATE', ins: Ins.PERSO_GENERATE, build: () => ({ data: randomBytes(8), ne: 256 }) },
  {
    name: 'PERSO_COMMIT',
    ins: Ins.PERSO_COMMIT,
    build: () => ({ data: commitData(stranger().sign(randomBytes(16))), ne: 0 }),
  },
];

/** Another access code than the suite's (ASCII "77665544"). */
export const NEW_PIN: Uint8Array = new TextEncoder().encode('77665544');

/** CHANGE_ACCESS_CODE's payload: `1B LL <current> ‖ 1C LL <new>`. */
export function changeCodeData(current: Uint8Array, next: Uint8Array): Uint8Array {
  return encodeProtocolTlvs([
    [Tag.ACCESS_CODE, current],
    [Tag.NEW_ACCESS_CODE, next],
  ]);
}

export function commandShape(name: ProtocolCommand): CommandShape {
  const shape = COMMANDS.find((c) => c.name === name);
  if (shape === undefined) throw new Error(`unknown command ${name}`);
  return shape;
}

/** `BACKUP_EXPORT` -> `backup-export`. */
export function kebab(name: string): string {
  return name.toLowerCase().replace(/_/g, '-');
}
