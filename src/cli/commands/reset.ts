/**
 * `twincard reset`: RESET erases the wallet on the card presented (WALLET or BACKED_UP -> BLANK), inside a
 * session opened under its verified certificate. It says plainly what is known about other copies first
 * (from READ: a primary's BACKUP_CARD_IDS, a backup card's PRIMARY_ID) and asks for confirmation
 * (`--force` skips it; without a terminal and without `--force` nothing is erased). A primary in
 * BACKUP_EXPORTING is refused before anything is sent: its backup must finish first
 * (`twincard backup --resume`), so that its record of backup cards is final.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import type { CardInfo } from '../../protocol/card.js';
import { WrongStateError } from '../../protocol/errors.js';
import { withCard } from '../card-command.js';
import { confirmOrRefuse } from '../confirm.js';
import { CommandFailure } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { openVerifiedSession, readVerifiedCard } from '../secure-card.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface ResetOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: string[] | undefined;
  readonly pinFile: string | undefined;
  readonly force: boolean;
}

export const resetCommand: CommandModule<GlobalOptions, ResetOptions> = {
  command: 'reset',
  describe: 'Erase the wallet on the card presented (asks for confirmation and the access code)',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .option('pin-file', { type: 'string', describe: 'read the access code from the first line of this file (or TWINCARD_PIN)' })
      .option('force', { type: 'boolean', default: false, describe: 'do not ask for confirmation' })
      .example('TWINCARD_PIN=123456 $0 reset --force', 'for scripts') as unknown as Argv<ResetOptions>,
  handler: async (argv: ArgumentsCamelCase<ResetOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    const pin = await readPin({ pinFile: argv.pinFile });
    try {
      const doc = await withCard(argv, out, async ({ card, readerName }) => {
        const verified = await readVerifiedCard(card, roots, out, 'reset');
        const { info } = verified;
        const cardId = toHex(verified.certificate.cardId);
        refuseUnlessResettable(info, cardId);
        out.emphasis(whatIsKnown(info, cardId));
        await confirmOrRefuse(argv.force, `Erase the wallet on card ${cardId}?`, 'reset', 'nothing was sent to the card');
        await openVerifiedSession(card, verified, 'reset');
        await card.reset(pin);
        return { reader: readerName, cardId, state: 'BLANK', erased: toHex(info.walletPublicKey as Uint8Array) };
      });
      out.printEmphasis(`card ${doc.cardId} reset: the wallet is erased on it; it is BLANK again (same id and certificate)`);
      out.result(doc);
    } finally {
      pin.fill(0);
    }
  },
};

/** BACKUP_EXPORTING: refused with why; no wallet: nothing to erase. */
export function refuseUnlessResettable(info: CardInfo, cardId: string): void {
  if (info.state === 'BACKUP_EXPORTING') {
    throw new CommandFailure(
      `reset: card ${cardId} is a primary in the middle of a backup (BACKUP_EXPORTING: a wallet blob has left it for ` +
        `${info.backupCardIds.map(toHex).join(', ')}); it cannot be reset until that backup is finished, so that its record ` +
        'of backup cards is final: run `twincard backup --resume`. Nothing was sent to the card',
      ExitCode.CARD_REFUSED,
    );
  }
  if (info.state !== 'WALLET' && info.state !== 'BACKED_UP') throw new WrongStateError('reset', info.state, ['WALLET', 'BACKED_UP']);
}

/** What is known about the other copies of the wallet, from READ alone. */
export function whatIsKnown(info: CardInfo, cardId: string): string {
  if (info.walletOrigin === 'created' && info.backupCardIds.length === 0) {
    return (
      `card ${cardId} is the only card known to hold this wallet (it was created ` +
      `here and never backed up): resetting it destroys the wallet for ever`
    );
  }
  if (info.walletOrigin === 'created') {
    return (
      `card ${cardId} is the primary of this wallet; its backup cards ` +
      `${info.backupCardIds.map(toHex).join(', ')} hold copies (if they imported them and were not reset since)`
    );
  }
  return (
    `card ${cardId} is a backup card of primary ${info.primaryId === undefined ? '?' : toHex(info.primaryId)}; ` +
    'the primary and its other backup card, if any, hold the wallet unless they were reset (this card cannot tell)'
  );
}
