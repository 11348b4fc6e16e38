/**
 * `twincard personalize --card-id HEX8 --test-manufacturer`: the factory step for virtual cards. The card
 * makes its identity key (PERSO_GENERATE), the TEST manufacturer key of fixtures/test-manufacturer/ signs the
 * certificate here on the host, and the card stores it (PERSO_COMMIT): FACTORY -> BLANK, once per card.
 * A real factory runs the same steps with its key in an HSM; this command only knows the TEST key, and says so.
 */
import { readFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { Size } from '../../protocol/constants.js';
import { zeroize } from '../../protocol/crypto.js';
import { personalize } from '../../protocol/factory.js';
import { keyPairFromPem } from '../../protocol/keys.js';
import { withCard } from '../card-command.js';
import { UsageError } from '../errors.js';
import type { GlobalOptions } from '../global-options.js';
import { hexArgument } from '../hex-arg.js';
import { Output } from '../output.js';
import { testManufacturerKeyPath } from '../paths.js';

interface PersonalizeOptions extends GlobalOptions {
  readonly cardId: string;
  readonly testManufacturer: boolean;
}

export const personalizeCommand: CommandModule<GlobalOptions, PersonalizeOptions> = {
  command: 'personalize',
  describe: 'Factory step: give a FACTORY card its id, identity key and a certificate from the TEST manufacturer',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('card-id', { type: 'string', demandOption: true, describe: 'the card id to assign, 8 bytes (16 hex digits)' })
      .option('test-manufacturer', {
        type: 'boolean',
        default: false,
        describe: 'sign with the TEST manufacturer key (required: the only manufacturer this command can play)',
      })
      .example('$0 personalize --card-id 5052494D00000001 --test-manufacturer', 'personalize a virtual card') as unknown as Argv<PersonalizeOptions>,
  handler: async (argv: ArgumentsCamelCase<PersonalizeOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const cardId = hexArgument('--card-id', argv.cardId, Size.CARD_ID);
    if (!argv.testManufacturer) {
      throw new UsageError('personalize needs --test-manufacturer: the TEST key is the only manufacturer key this tool holds');
    }
    const keyPath = testManufacturerKeyPath();
    let pem: string;
    try {
      pem = readFileSync(keyPath, 'utf8');
    } catch (error) {
      throw new UsageError(`the TEST manufacturer key is not where this install expects it: ${(error as Error).message}`);
    }
    const manufacturer = keyPairFromPem(pem, keyPath);
    try {
      const result = await withCard(argv, out, async ({ card, readerName }) => ({
        readerName,
        perso: await personalize(card, cardId, manufacturer),
      }));
      out.emphasis(`card ${toHex(result.perso.cardId)} personalized: FACTORY -> BLANK, certified by the TEST manufacturer`);
      out.info(`identity key ${toHex(result.perso.identityPublicKey)}`);
      out.result({
        reader: result.readerName,
        cardId: toHex(result.perso.cardId),
        state: 'BLANK',
        identityPublicKey: toHex(result.perso.identityPublicKey),
        certificate: toHex(result.perso.certificate),
        manufacturer: 'TEST',
      });
    } finally {
      zeroize(manufacturer.privateKey);
    }
  },
};
