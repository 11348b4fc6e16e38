/**
 * `twincard sign --digest HEX32`: the certificate verified under the trusted roots, OPEN_SESSION (a
 * fresh attestation), then VERIFY_PIN and SIGN wrapped in the session, with the wallet key. The host parses the DER
 * signature, normalises S to the low half and verifies it under the card's wallet public key before
 * printing anything (protocol/card.ts). `--expect-pubkey` makes sure it is the right wallet BEFORE the
 * access code is sent, so a wrong card never costs a PIN try.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { Size } from '../../protocol/constants.js';
import { equalBytes, validatePublicKey } from '../../protocol/crypto.js';
import { WrongStateError } from '../../protocol/errors.js';
import { withCard } from '../card-command.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { hexArgument } from '../hex-arg.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { openVerifiedSession, readVerifiedCard } from '../secure-card.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface SignOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: string[] | undefined;
  readonly digest: string;
  readonly expectPubkey: string | undefined;
  readonly pinFile: string | undefined;
}

/** The --json document of `twincard sign`. */
export interface SignDocument {
  readonly reader: string;
  readonly cardId: string | null;
  readonly digest: string;
  readonly walletPublicKey: string;
  /** 32 bytes each, S in the low half. */
  readonly r: string;
  readonly s: string;
  /** DER of (r, s) with the low S. */
  readonly der: string;
  /** Whether the card itself produced a high S (normalised here; both verify). */
  readonly cardSignedHighS: boolean;
  readonly signCounter: number;
}

export const signCommand: CommandModule<GlobalOptions, SignOptions> = {
  command: 'sign',
  describe: 'Sign a 32-byte digest with the wallet key (asks for the access code)',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .option('digest', { type: 'string', demandOption: true, describe: 'the 32-byte digest to sign, 64 hex digits' })
      .option('expect-pubkey', {
        type: 'string',
        describe: 'refuse (before the access code is sent) unless the card holds this wallet public key (65 bytes hex, 04...)',
      })
      .option('pin-file', { type: 'string', describe: 'read the access code from the first line of this file (chmod 600)' })
      .example('$0 sign --digest $(printf hello | sha256sum | cut -c1-64)', 'sign SHA-256("hello")') as unknown as Argv<SignOptions>,
  handler: async (argv: ArgumentsCamelCase<SignOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const digest = hexArgument('--digest', argv.digest, Size.DIGEST);
    const expected = argv.expectPubkey === undefined ? undefined : expectedKey(argv.expectPubkey);
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    const pin = await readPin({ pinFile: argv.pinFile });
    try {
      const doc = await withCard(argv, out, async ({ card, readerName }): Promise<SignDocument> => {
        const verified = await readVerifiedCard(card, roots, out, 'sign');
        const { info } = verified;
        if (info.walletPublicKey === undefined) throw new WrongStateError('sign', info.state, ['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP']);
        if (expected !== undefined && !equalBytes(expected, info.walletPublicKey)) {
          throw new CommandFailure(
            `sign: this card holds wallet ${toHex(info.walletPublicKey)}, not ` +
              `the expected ${toHex(expected)}; the access code was not sent`,
            ExitCode.UNEXPECTED,
          );
        }
        await openVerifiedSession(card, verified, 'sign');
        await card.verifyPin(pin);
        const signed = await card.sign(digest, info.walletPublicKey);
        return {
          reader: readerName,
          cardId: info.cardId === undefined ? null : toHex(info.cardId),
          digest: toHex(digest),
          walletPublicKey: toHex(info.walletPublicKey),
          r: toHex(signed.compact.subarray(0, 32)),
          s: toHex(signed.compact.subarray(32, 64)),
          der: toHex(signed.der),
          cardSignedHighS: signed.wasHighS,
          signCounter: signed.signCounter,
        };
      });
      out.printEmphasis(`signed by card ${doc.cardId ?? '?'} (signature #${doc.signCounter}), verified under the wallet key`);
      out.print(`r      ${doc.r}`);
      out.print(`s      ${doc.s}`);
      out.print(`der    ${doc.der}`);
      out.print(`pubkey ${doc.walletPublicKey}`);
      out.result(doc);
    } finally {
      pin.fill(0);
    }
  },
};

function expectedKey(text: string): Uint8Array {
  const key = hexArgument('--expect-pubkey', text, Size.PUBLIC_KEY);
  try {
    return validatePublicKey(key, '--expect-pubkey');
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
