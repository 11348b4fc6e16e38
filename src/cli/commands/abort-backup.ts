/**
 * `twincard abort-backup`: give up a backup in progress (BACKUP_ABORT on the primary, docs/protocol.md) and
 * delete its journal. For a backup card lost or broken before its wallet blob was made, or a journal lost:
 * without it the primary would wait in BACKUP_PRIMARY forever. The card allows it only while no blob has left
 * it; after that a backup card may already hold the wallet, and `twincard backup --resume` must finish.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { JournalError, loadJournal, type BackupJournal } from '../../flow/journal.js';
import { JournalLockedError, lockJournal } from '../../flow/lock.js';
import { TwincardSw } from '../../protocol/constants.js';
import { equalBytes } from '../../protocol/crypto.js';
import { CardRefusedError, WrongStateError } from '../../protocol/errors.js';
import { withCard } from '../card-command.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { defaultJournalPath } from './backup.js';

interface AbortOptions extends GlobalOptions {
  readonly journal: string | undefined;
  readonly pinFile: string | undefined;
}

/** The --json document of `twincard abort-backup`. */
export interface AbortDocument {
  readonly reader: string;
  readonly cardId: string | null;
  /** The primary's state before: BACKUP_PRIMARY (aborted now) or WALLET (nothing to abort). */
  readonly stateBefore: string;
  readonly aborted: boolean;
  /** The journal deleted, if there was one. */
  readonly journalDeleted: string | null;
}

export const abortBackupCommand: CommandModule<GlobalOptions, AbortOptions> = {
  command: 'abort-backup',
  describe: 'Give up a backup in progress on the primary card (only before any wallet blob left it)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('journal', { type: 'string', describe: 'the backup journal (default: the one `twincard backup` uses)' })
      .option('pin-file', { type: 'string', describe: 'read the access code from the first line of this file (chmod 600)' })
      .example('$0 abort-backup --reader "PCD 00 00"', 'the primary goes back to WALLET; link backup cards anew') as unknown as Argv<AbortOptions>,
  handler: async (argv: ArgumentsCamelCase<AbortOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const journalPath = resolve(argv.journal ?? defaultJournalPath());
    await mkdir(dirname(journalPath), { recursive: true, mode: 0o700 });
    let lock;
    try {
      lock = await lockJournal(journalPath);
    } catch (error) {
      if (error instanceof JournalLockedError) throw new UsageError(error.message);
      throw error;
    }
    try {
      const journalExists = await stat(journalPath).then(() => true, () => false);
      const journal = await readJournal(journalPath);
      const pin = await readPin({ pinFile: argv.pinFile });
      let doc: AbortDocument;
      try {
        doc = await withCard(argv, out, async ({ card, readerName }) => {
          await card.select();
          const info = await card.read();
          const primaryId = journal?.primary?.cardId;
          if (primaryId !== undefined && (info.cardId === undefined || !equalBytes(primaryId, info.cardId))) {
            throw new CommandFailure(
              `abort-backup: this is card ${info.cardId === undefined ? '(no id)' : toHex(info.cardId)}, the journal's primary is ${toHex(primaryId)}: nothing was sent to it`,
              ExitCode.CARD_REFUSED,
            );
          }
          if (info.state !== 'BACKUP_PRIMARY' && info.state !== 'WALLET') {
            throw new WrongStateError('abort-backup', info.state, ['BACKUP_PRIMARY', 'WALLET']);
          }
          if (info.state === 'BACKUP_PRIMARY') {
            await card.verifyPin(pin);
            try {
              await card.backupAbort();
            } catch (error) {
              if (error instanceof CardRefusedError && error.sw === TwincardSw.BACKUP_EXPORTED) {
                throw new CommandFailure(
                  'abort-backup: a wallet blob has already left the primary, so a backup card may hold the wallet: finish with `twincard backup --resume`',
                  ExitCode.CARD_REFUSED,
                );
              }
              throw error;
            }
          }
          return {
            reader: readerName,
            cardId: info.cardId === undefined ? null : toHex(info.cardId),
            stateBefore: info.state,
            aborted: info.state === 'BACKUP_PRIMARY',
            journalDeleted: null,
          };
        });
      } finally {
        pin.fill(0);
      }
      if (journalExists) {
        await rm(journalPath, { force: true });
        doc = { ...doc, journalDeleted: journalPath };
      }
      out.emphasis(
        doc.aborted
          ? `backup aborted: card ${doc.cardId ?? '?'} holds its wallet as before (WALLET); start a new backup when ready`
          : `card ${doc.cardId ?? '?'} has no backup in progress (WALLET): nothing to abort`,
      );
      if (doc.journalDeleted !== null) out.info(`deleted the journal ${doc.journalDeleted}`);
      out.result(doc);
    } finally {
      await lock.release();
    }
  },
};

async function readJournal(path: string): Promise<BackupJournal | undefined> {
  try {
    return await loadJournal(path);
  } catch (error) {
    // A journal that does not parse cannot name the primary; the card decides, and the file goes with the backup.
    if (error instanceof JournalError) return undefined;
    throw error;
  }
}
