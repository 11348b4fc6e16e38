/**
 * `twincard cancel-backup`: free a backup card prepared for a backup that will not go on
 * (BACKUP_CANCEL: BACKUP_PENDING -> BLANK, its ephemeral key wiped, docs/protocol.md section 6).
 *
 * In protocol v2 only a backup card has something to cancel. A primary keeps nothing of a backup
 * until a blob leaves it, and from then on it counts that card for ever: nothing undoes an export, so
 * a primary in BACKUP_EXPORTING can only go forward (`twincard backup --resume` finalizes it).
 *
 * With the journal: a card it holds a sealed blob for is refused without `--force` (the primary has
 * already counted it; cancelling makes that blob useless, a lost slot), and so is any card of a backup
 * at the primary's step (an export whose answer was lost counts a card the journal holds no blob for).
 * A card it prepared but holds no blob for is dropped from the journal, so the backup continues with
 * another blank card in that slot; the journal goes when nothing is left in it. No access code is needed: a BACKUP_PENDING card
 * holds no secret of the user's.
 * @module
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { loadJournal, saveJournal } from '../../flow/journal.js';
import { JournalLockedError, lockJournal } from '../../flow/lock.js';
import { isSealed, JournalError, nextStep, slotOf, type BackupJournal } from '../../protocol/backup-model.js';
import type { CardInfo } from '../../protocol/card.js';
import { withCard } from '../card-command.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { defaultJournalPath } from './backup.js';

interface CancelOptions extends GlobalOptions {
  readonly journal: string | undefined;
  readonly force: boolean;
}

/** The --json document of `twincard cancel-backup`. */
export interface CancelDocument {
  readonly reader: string;
  readonly cardId: string;
  /** The card's state before: BACKUP_PENDING (cancelled now) or BLANK (nothing to cancel). */
  readonly stateBefore: string;
  readonly cancelled: boolean;
  /** What happened to the journal: the card dropped from it, the journal removed, or nothing. */
  readonly journal: 'card-dropped' | 'removed' | 'unchanged' | 'none';
}

export const cancelBackupCommand: CommandModule<GlobalOptions, CancelOptions> = {
  command: 'cancel-backup',
  describe: 'Free a backup card prepared for a backup (BACKUP_PENDING -> BLANK); a primary has nothing to cancel',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('journal', { type: 'string', describe: 'the backup journal (default: the one `twincard backup` uses)' })
      .option('force', {
        type: 'boolean',
        default: false,
        describe: 'cancel even a card the primary has already sealed a blob for (the primary counts it for ever: a lost slot)',
      })
      .example('$0 cancel-backup --reader "PCD 00 01"', 'the backup card is blank again; the backup goes on with another'),
  handler: async (argv: ArgumentsCamelCase<CancelOptions>) => {
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
      const journal = await readJournal(journalPath);
      const doc = await withCard(argv, out, async ({ card, readerName }) => {
        await card.select();
        const info = await card.read();
        const cardId = cancellable(info, journal, argv.force);
        if (info.state === 'BACKUP_PENDING') await card.backupCancel();
        return { reader: readerName, cardId, stateBefore: info.state, cancelled: info.state === 'BACKUP_PENDING' };
      });
      const journalOutcome = await dropFromJournal(journalPath, journal, doc.cardId);
      const result: CancelDocument = { ...doc, cardId: toHex(doc.cardId), journal: journalOutcome };
      out.printEmphasis(
        result.cancelled
          ? `card ${result.cardId} is BLANK again: the ephemeral key it was ` +
              `prepared with is gone, and no blob sealed to it can ever be imported`
          : `card ${result.cardId} is BLANK: nothing to cancel`,
      );
      if (journalOutcome === 'card-dropped')
        out.print(`dropped it from the backup in ${journalPath}: \`twincard backup --resume\` asks for another blank card`);
      if (journalOutcome === 'removed') out.print(`the backup in ${journalPath} had no other card: journal removed`);
      out.result(result);
    } finally {
      await lock.release();
    }
  },
};

/**
 * Whether the card may be cancelled, decided from READ alone (nothing was sent to it yet).
 * @returns its id.
 * @throws CommandFailure explaining why not.
 */
export function cancellable(info: CardInfo, journal: BackupJournal | undefined, force: boolean): Uint8Array {
  const id = info.cardId;
  const refuse = (message: string) => new CommandFailure(`cancel-backup: ${message}; nothing was sent to it`, ExitCode.CARD_REFUSED);
  if (id === undefined) throw refuse('this card is not personalized (FACTORY): there is no backup on it');
  const label = `card ${toHex(id)}`;
  switch (info.state) {
    case 'BLANK':
    case 'BACKUP_PENDING':
      break;
    case 'WALLET':
      throw refuse(
        `${label} is a primary (WALLET) with no backup under way: in protocol v2 a primary ` +
          `keeps nothing of a backup until a blob leaves it, so there is nothing to cancel`,
      );
    case 'BACKUP_EXPORTING':
      throw refuse(
        `${label} is a primary that has already exported (BACKUP_EXPORTING, ${info.backupCount} backup card(s) counted): ` +
          'nothing undoes an export in protocol v2; only `twincard backup --resume` goes forward (it finalizes the backup)',
      );
    case 'BACKED_UP':
      throw refuse(`${label} is BACKED_UP: its backup is finished, there is nothing to cancel`);
    case 'FACTORY':
      throw refuse(`${label} is not personalized (FACTORY): there is no backup on it`);
  }
  const slot = journal === undefined ? -1 : slotOf(journal, id);
  if (journal === undefined || slot < 0 || force) return id;
  if (isSealed(journal.backups[slot])) {
    throw refuse(
      `the backup journal holds a blob the primary sealed for ${label} (backup card ${slot + 1}): the primary already counts it ` +
        'as a backup card, for ever. Import it instead (`twincard backup --resume`); --force cancels it anyway, and that slot is lost',
    );
  }
  if (nextStep(journal).kind === 'export-primary') {
    // An export whose answer was lost leaves the primary counting a card the journal holds no blob for.
    throw refuse(
      `the backup in the journal is at the primary's step, so the primary may already count ${label} (backup card ${slot + 1}) ` +
        'if an export to it was interrupted. Finish with `twincard backup --resume`; if the primary was never presented ' +
        'for this backup, --force cancels the card and drops it from the journal',
    );
  }
  return id;
}

/** Drops the card from the journal when it holds no blob for it; removes a journal left empty. */
export async function dropFromJournal(
  path: string,
  journal: BackupJournal | undefined,
  cardId: Uint8Array,
): Promise<CancelDocument['journal']> {
  if (journal === undefined) return 'none';
  const slot = slotOf(journal, cardId);
  if (slot < 0 || isSealed(journal.backups[slot])) return 'unchanged'; // --force: the blob stays, the primary counts the card
  const backups = journal.backups.filter((_, i) => i !== slot);
  if (backups.length === 0 && journal.primary === undefined) {
    await rm(path, { force: true });
    return 'removed';
  }
  await saveJournal(path, { ...journal, backups });
  return 'card-dropped';
}

async function readJournal(path: string): Promise<BackupJournal | undefined> {
  try {
    return await loadJournal(path);
  } catch (error) {
    if (error instanceof JournalError) {
      throw new UsageError(`the backup journal cannot be used: ${error.message} (move it away to cancel a card without it)`);
    }
    throw error;
  }
}
