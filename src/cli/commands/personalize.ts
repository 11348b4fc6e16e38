/**
 * `twincard personalize --card-id HEX8 --test-manufacturer | --manufacturer-key PEM`: the factory step. The
 * card makes its identity and attestation keys (PERSO_GENERATE), the manufacturer key (the TEST key of
 * fixtures/test-manufacturer/, or the given private key) signs the certificate here on the host, and the card
 * checks the signature under the root it was INSTALLED with and stores it (PERSO_COMMIT): FACTORY -> BLANK,
 * once per card. A real factory runs the same steps with its key in an HSM.
 *
 * It cannot be undone (the id, the keys and the root are the card's for ever), so it asks for confirmation
 * first, as `reset` does: `--force` skips the question, and without a terminal and without `--force`
 * nothing is sent to the card (exit 2).
 */
import { readFileSync } from 'node:fs';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { Size } from '../../protocol/constants.js';
import { equalBytes, zeroize } from '../../protocol/crypto.js';
import { personalize } from '../../protocol/factory.js';
import { keyPairFromPem } from '../../protocol/keys.js';
import { testManufacturerRoot } from '../../protocol/roots.js';
import { withCard } from '../card-command.js';
import { confirmOrRefuse } from '../confirm.js';
import { UsageError } from '../errors.js';
import type { GlobalOptions } from '../global-options.js';
import { hexArgument } from '../hex-arg.js';
import { Output } from '../output.js';
import { testManufacturerKeyPath } from '../paths.js';

interface PersonalizeOptions extends GlobalOptions {
  readonly cardId: string;
  readonly testManufacturer: boolean;
  readonly manufacturerKey: string | undefined;
  readonly force: boolean;
}

export const personalizeCommand: CommandModule<GlobalOptions, PersonalizeOptions> = {
  command: 'personalize',
  describe: 'Factory step: give a FACTORY card its id, identity and attestation keys and a certificate (asks first; cannot be undone)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('card-id', { type: 'string', demandOption: true, describe: 'the card id to assign, 8 bytes (16 hex digits)' })
      .option('test-manufacturer', {
        type: 'boolean',
        default: false,
        describe: 'sign with the TEST manufacturer key of fixtures/test-manufacturer',
      })
      .option('manufacturer-key', {
        type: 'string',
        describe: 'sign with this manufacturer private key (PEM, secp256k1); the card must have been installed with its public key as root',
      })
      .option('force', { type: 'boolean', default: false, describe: 'do not ask for confirmation (required without a terminal)' })
      .example(
        '$0 personalize --card-id 5052494D00000001 --test-manufacturer --force',
        'personalize a virtual card',
      ) as unknown as Argv<PersonalizeOptions>,
  handler: async (argv: ArgumentsCamelCase<PersonalizeOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const cardId = hexArgument('--card-id', argv.cardId, Size.CARD_ID);
    if (argv.testManufacturer && argv.manufacturerKey !== undefined) {
      throw new UsageError('personalize: --test-manufacturer and --manufacturer-key name two different keys; give one');
    }
    if (!argv.testManufacturer && argv.manufacturerKey === undefined) {
      throw new UsageError('personalize needs --test-manufacturer or --manufacturer-key PEM: the key that signs the certificate');
    }
    const keyPath = argv.manufacturerKey ?? testManufacturerKeyPath();
    let pem: string;
    try {
      pem = readFileSync(keyPath, 'utf8');
    } catch (error) {
      throw new UsageError(
        argv.manufacturerKey === undefined
          ? `the TEST manufacturer key is not where this install expects it: ${(error as Error).message}`
          : `--manufacturer-key ${keyPath}: ${(error as Error).message}`,
      );
    }
    let manufacturer: ReturnType<typeof keyPairFromPem>;
    try {
      manufacturer = keyPairFromPem(pem, keyPath);
    } catch (error) {
      throw new UsageError(`--manufacturer-key ${keyPath}: ${(error as Error).message}`);
    }
    const isTest = equalBytes(manufacturer.publicKey, testManufacturerRoot().publicKey);
    try {
      // Asked before the card is opened: a refusal sends nothing, not even SELECT.
      const signer = isTest ? 'the TEST manufacturer' : `the manufacturer key of ${keyPath}`;
      await confirmOrRefuse(
        argv.force,
        `Personalize the card as ${toHex(cardId)}, certified by ${signer}? This cannot be undone`,
        'personalize',
        'nothing was sent to the card',
      );
      const result = await withCard(argv, out, async ({ card, readerName }) => ({
        readerName,
        perso: await personalize(card, cardId, manufacturer),
      }));
      out.printEmphasis(`card ${toHex(result.perso.cardId)} personalized: FACTORY -> BLANK, certified by ${signer}`);
      out.print(`identity key    ${toHex(result.perso.identityPublicKey)}`);
      out.print(`attestation key ${toHex(result.perso.attestationPublicKey)}`);
      out.result({
        reader: result.readerName,
        cardId: toHex(result.perso.cardId),
        state: 'BLANK',
        identityPublicKey: toHex(result.perso.identityPublicKey),
        attestationPublicKey: toHex(result.perso.attestationPublicKey),
        certificate: toHex(result.perso.certificate),
        manufacturer: isTest ? 'TEST' : toHex(manufacturer.publicKey),
      });
    } finally {
      zeroize(manufacturer.privateKey);
    }
  },
};
