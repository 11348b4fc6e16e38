/**
 * `twincard attest`: is this card genuine? A fresh random challenge, the card's signature over it with its
 * identity key, and the certificate chain up to a trusted manufacturer root. Exit 6 when not genuine.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { attest, type AttestationResult } from '../../protocol/attestation.js';
import { withCard } from '../card-command.js';
import { CommandFailure } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface AttestOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: readonly string[] | undefined;
}

/** The --json document of `twincard attest`. */
export interface AttestDocument {
  readonly reader: string;
  readonly genuine: boolean;
  readonly cardId: string | null;
  readonly state: string | null;
  /** The root that certified the card; `test: true` is the TEST manufacturer (proves nothing). */
  readonly root: { readonly label: string; readonly test: boolean } | null;
  readonly identityPublicKey: string | null;
  /** Why not genuine: a code of attestation.ts (CERTIFICATE_UNTRUSTED, ...) and a sentence. */
  readonly reason: { readonly code: string; readonly message: string } | null;
}

export const attestCommand: CommandModule<GlobalOptions, AttestOptions> = {
  command: 'attest',
  describe: 'Check that the card is genuine: challenge-response and certificate chain to a trusted root',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs).example('$0 attest --trust-test-root', 'attest a virtual card') as unknown as Argv<AttestOptions>,
  handler: async (argv: ArgumentsCamelCase<AttestOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    // Roots first: a bad --root file is a usage error before any card is touched.
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    const { readerName, verdict } = await withCard(argv, out, async ({ card, readerName }) => ({
      readerName,
      verdict: await attest(card, roots),
    }));
    const doc = attestDocument(readerName, verdict);
    out.result(doc);
    if (verdict.genuine) {
      out.printEmphasis(
        `GENUINE: card ${doc.cardId ?? '(no id)'} (${doc.state ?? 'unknown state'}) answered a fresh challenge ` +
          `with a key certified by ${verdict.root.label}`,
      );
      if (verdict.root.test) {
        out.info('warning: that is the TEST manufacturer, whose private key is published: this card is a test card, not proven hardware');
      }
      return;
    }
    out.printEmphasis(`NOT GENUINE: ${verdict.reason.code}: ${verdict.reason.message}`);
    throw new CommandFailure(`not genuine (${verdict.reason.code})`, ExitCode.NOT_GENUINE);
  },
};

function attestDocument(reader: string, verdict: AttestationResult): AttestDocument {
  if (verdict.genuine) {
    return {
      reader,
      genuine: true,
      cardId: toHex(verdict.cardId),
      state: verdict.state,
      root: { label: verdict.root.label, test: verdict.root.test },
      identityPublicKey: toHex(verdict.identityPublicKey),
      reason: null,
    };
  }
  return {
    reader,
    genuine: false,
    cardId: verdict.info?.cardId === undefined ? null : toHex(verdict.info.cardId),
    state: verdict.info?.state ?? null,
    root: null,
    identityPublicKey: null,
    reason: { code: verdict.reason.code, message: verdict.reason.message },
  };
}
