/**
 * `twincard info`: what READ says about the card: id, state, wallet key, counters, and the backup record
 * (a primary's backup cards by id, an imported wallet's primary). Changes nothing.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import type { CardInfo } from '../../protocol/card.js';
import { Size } from '../../protocol/constants.js';
import { withCard } from '../card-command.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';

/** The --json document of `twincard info` (bytes as uppercase hex; absent fields are null). */
export interface InfoDocument {
  readonly reader: string;
  readonly version: number;
  readonly state: string;
  readonly cardId: string | null;
  readonly walletPublicKey: string | null;
  readonly walletOrigin: 'created' | 'imported' | null;
  readonly pinTriesLeft: number;
  readonly signCounter: number;
  readonly backupCount: number;
  /** A primary's backup cards: every card a wallet blob has left for, in the order of the first export. */
  readonly backupCardIds: readonly string[];
  /** An imported wallet: the primary it came from. */
  readonly primaryId: string | null;
  readonly certificate: string | null;
}

export const infoCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'info',
  describe: "Show the card's id, state, wallet public key, counters and backup cards (READ)",
  builder: (yargs: Argv<GlobalOptions>) => yargs.example('$0 info --json', 'one JSON document on stdout'),
  handler: async (argv: ArgumentsCamelCase<GlobalOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const { readerName, info } = await withCard(argv, out, async ({ card, readerName }) => {
      await card.select();
      return { readerName, info: await card.read() };
    });
    const doc = infoDocument(readerName, info);
    for (const line of describeInfo(doc)) out.print(line);
    out.result(doc);
  },
};

function infoDocument(reader: string, info: CardInfo): InfoDocument {
  return {
    reader,
    version: info.version,
    state: info.state,
    cardId: info.cardId === undefined ? null : toHex(info.cardId),
    walletPublicKey: info.walletPublicKey === undefined ? null : toHex(info.walletPublicKey),
    walletOrigin: info.walletOrigin ?? null,
    pinTriesLeft: info.pinTriesLeft,
    signCounter: info.signCounter,
    backupCount: info.backupCount,
    backupCardIds: info.backupCardIds.map(toHex),
    primaryId: info.primaryId === undefined ? null : toHex(info.primaryId),
    certificate: info.certificate === undefined ? null : toHex(info.certificate),
  };
}

function describeInfo(doc: InfoDocument): string[] {
  const hasWallet = doc.walletPublicKey !== null;
  const tries = hasWallet
    ? `${doc.pinTriesLeft} of ${Size.PIN_TRIES} tries left${doc.pinTriesLeft === 0 ? ' (BLOCKED)' : ''}`
    : '(none set)';
  return [
    `reader        ${doc.reader}`,
    `card id       ${doc.cardId ?? '(none: not personalized)'}`,
    `state         ${doc.state}`,
    `wallet key    ${doc.walletPublicKey ?? '(no wallet)'}`,
    ...(hasWallet
      ? [`wallet origin ${doc.walletOrigin === 'created' ? 'created on this card' : `imported from primary card ${doc.primaryId ?? '?'}`}`]
      : []),
    `access code   ${tries}`,
    `signatures    ${doc.signCounter}`,
    `backup cards  ${describeBackups(doc)}`,
  ];
}

function describeBackups(doc: InfoDocument): string {
  if (doc.backupCount > 0) {
    const finished = doc.state === 'BACKED_UP' ? 'final' : 'a backup under way: only `twincard backup --resume` goes forward';
    return `${doc.backupCount} (${doc.backupCardIds.join(', ')}; ${finished})`;
  }
  if (doc.walletOrigin === 'imported') return '0 (this card is a backup card: it never exports)';
  return '0';
}
