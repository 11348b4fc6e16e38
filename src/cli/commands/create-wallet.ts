/**
 * `twincard create-wallet`: the card generates a wallet key pair inside itself and takes a new access code
 * (asked twice on a terminal, or from --pin-file / TWINCARD_PIN). Only a BLANK card accepts it. The code goes
 * to the card only inside a session opened under its verified certificate (a fresh attestation).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { WrongStateError } from '../../protocol/errors.js';
import { withCard } from '../card-command.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { openVerifiedSession, readVerifiedCard } from '../secure-card.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface CreateWalletOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: string[] | undefined;
  readonly pinFile: string | undefined;
}

export const createWalletCommand: CommandModule<GlobalOptions, CreateWalletOptions> = {
  command: 'create-wallet',
  describe: 'Create the wallet key on a BLANK card and set its access code',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .option('pin-file', { type: 'string', describe: 'read the new access code from the first line of this file (chmod 600)' })
      .example('TWINCARD_PIN=123456 $0 create-wallet', 'for scripts and benches') as unknown as Argv<CreateWalletOptions>,
  handler: async (argv: ArgumentsCamelCase<CreateWalletOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    // The code before the card: nobody should have to hold a card on the reader while typing.
    const pin = await readPin({ pinFile: argv.pinFile, confirm: true, prompt: 'New access code (4..16 characters)' });
    try {
      const result = await withCard(argv, out, async ({ card, readerName }) => {
        const verified = await readVerifiedCard(card, roots, out, 'create-wallet');
        const before = verified.info;
        // Checked here too (the card answers 6985 anyway) so the message says what the card is.
        if (before.state !== 'BLANK') throw new WrongStateError('create-wallet', before.state, ['BLANK']);
        await openVerifiedSession(card, verified, 'create-wallet');
        const walletPublicKey = await card.createWallet(pin);
        return { readerName, cardId: before.cardId, walletPublicKey };
      });
      out.printEmphasis(`wallet created on card ${result.cardId === undefined ? '?' : toHex(result.cardId)}`);
      out.print(`wallet public key ${toHex(result.walletPublicKey)}`);
      out.result({
        reader: result.readerName,
        cardId: result.cardId === undefined ? null : toHex(result.cardId),
        state: 'WALLET',
        walletPublicKey: toHex(result.walletPublicKey),
      });
    } finally {
      pin.fill(0);
    }
  },
};
