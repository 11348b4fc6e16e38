/**
 * `twincard change-code`: CHANGE_ACCESS_CODE on the card presented, inside a session opened under its
 * verified certificate. The code is per card (docs/protocol.md section 5): when the card belongs to a set
 * (a primary's BACKUP_CARD_IDS, a backup card's PRIMARY_ID), the command then offers to change it on each
 * other card of the set it knows, in turn, naming each by id; each card keeps its own code and its own
 * tries.
 *
 * The codes, for scripts: the current one from `--pin-file` / `TWINCARD_PIN`, the new one from
 * `--new-pin-file` / `TWINCARD_NEW_PIN`; otherwise both are asked on the terminal (the new one twice).
 * `--all-cards` changes it on every other card of the set without asking; without a terminal and without
 * it, only the card presented changes.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import type { CardInfo, TwincardCard } from '../../protocol/card.js';
import { equalBytes } from '../../protocol/crypto.js';
import { WrongStateError } from '../../protocol/errors.js';
import type { TrustedRoot } from '../../protocol/roots.js';
import { PcscError } from '../../readers/index.js';
import { withCard } from '../card-command.js';
import { confirm } from '../confirm.js';
import { CommandFailure } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { verifyAndOpenSession } from '../secure-card.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface ChangeCodeOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: string[] | undefined;
  readonly pinFile: string | undefined;
  readonly newPinFile: string | undefined;
  readonly allCards: boolean;
}

const CODE_STATES = ['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP'];

/** The --json document: every card whose code changed, in order. */
export interface ChangeCodeDocument {
  readonly changed: readonly string[];
  /** Cards of the set that were not changed (declined, or not presented in time). */
  readonly unchanged: readonly string[];
}

export const changeCodeCommand: CommandModule<GlobalOptions, ChangeCodeOptions> = {
  command: 'change-code',
  describe: 'Change the access code on the card presented, then, if asked, on each other card of its set',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .option('pin-file', { type: 'string', describe: 'the CURRENT access code from the first line of this file (or TWINCARD_PIN)' })
      .option('new-pin-file', { type: 'string', describe: 'the NEW access code from the first line of this file (or TWINCARD_NEW_PIN)' })
      .option('all-cards', {
        type: 'boolean',
        default: false,
        describe: 'also change it on every other card of the set, without asking (each is presented in turn)',
      })
      .example(
        'TWINCARD_PIN=123456 TWINCARD_NEW_PIN=654321 $0 change-code --all-cards',
        'for scripts',
      ) as unknown as Argv<ChangeCodeOptions>,
  handler: async (argv: ArgumentsCamelCase<ChangeCodeOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    const current = await readPin({ pinFile: argv.pinFile, prompt: 'Current access code' });
    let next: Uint8Array | undefined;
    try {
      const newEnv = { ...process.env, TWINCARD_PIN: process.env['TWINCARD_NEW_PIN'] };
      next = await readPin({ pinFile: argv.newPinFile, confirm: true, prompt: 'New access code (4..16 characters)', env: newEnv });
      const first = await withCard(argv, out, ({ card }) => changeOn(card, roots, out, current, next as Uint8Array, undefined));
      const changed = [toHex(first.cardId)];
      const unchanged: string[] = [];
      const others = setMembers(first.info);
      if (others.length > 0) {
        out.info(
          `card ${toHex(first.cardId)} belongs to a set with ${others.map(toHex).join(', ')}: each card keeps its own access code, ` +
            'so the others still take the old one until it is changed on them too',
        );
      }
      for (const other of others) {
        const id = toHex(other);
        const go = argv.allCards || (await confirm(`Change the access code on card ${id} too?`));
        if (!go) {
          unchanged.push(id);
          continue;
        }
        out.emphasis(`Present card ${id} (take card ${changed[changed.length - 1]!} away)`);
        await withCardNamed(argv, out, other, (card) => changeOn(card, roots, out, current, next as Uint8Array, other));
        changed.push(id);
      }
      if (unchanged.length > 0) out.print(`not changed: ${unchanged.join(', ')} (they keep the old code)`);
      out.result({ changed, unchanged } satisfies ChangeCodeDocument);
    } finally {
      current.fill(0);
      next?.fill(0);
    }
  },
};

interface Changed {
  readonly cardId: Uint8Array;
  readonly info: CardInfo;
}

async function changeOn(
  card: TwincardCard,
  roots: readonly TrustedRoot[],
  out: Output,
  current: Uint8Array,
  next: Uint8Array,
  expected: Uint8Array | undefined,
): Promise<Changed> {
  const verified = await verifyAndOpenSessionFor(card, roots, out, expected);
  const { info } = verified;
  const cardId = verified.certificate.cardId;
  if (!CODE_STATES.includes(info.state)) throw new WrongStateError('change-code', info.state, CODE_STATES);
  await card.changeAccessCode(current, next);
  out.printEmphasis(`access code changed on card ${toHex(cardId)} (this card only)`);
  return { cardId, info };
}

/** The card must be the one named (when one is): checked on READ's certified id before the session. */
async function verifyAndOpenSessionFor(
  card: TwincardCard,
  roots: readonly TrustedRoot[],
  out: Output,
  expected: Uint8Array | undefined,
): ReturnType<typeof verifyAndOpenSession> {
  if (expected !== undefined) {
    await card.select();
    const info = await card.read();
    if (info.cardId === undefined || !equalBytes(info.cardId, expected)) throw new NotTheCardError(info.cardId);
  }
  return verifyAndOpenSession(card, roots, out, 'change-code');
}

const CARD_MOVING: ReadonlySet<string> = new Set(['card-removed', 'no-card', 'unpowered', 'unresponsive', 'transaction-failed']);

class NotTheCardError extends Error {
  constructor(readonly found: Uint8Array | undefined) {
    super(`card ${found === undefined ? '(not personalized)' : toHex(found)}`);
  }
}

/** The other cards of the set, as far as this card knows: its backup cards, or its primary. */
export function setMembers(info: CardInfo): Uint8Array[] {
  if (info.backupCardIds.length > 0) return info.backupCardIds.map((id) => id.slice());
  if (info.primaryId !== undefined) return [info.primaryId.slice()];
  return [];
}

/** Waits (up to --wait seconds) until the card on the reader is the one named, then runs `work` on it. */
async function withCardNamed<T>(
  argv: GlobalOptions,
  out: Output,
  cardId: Uint8Array,
  work: (card: TwincardCard) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + argv.wait * 1000;
  for (;;) {
    try {
      return await withCard(argv, out, ({ card }) => work(card));
    } catch (error) {
      // While the person swaps cards, the reader may still hold the last one, or lose it mid-exchange.
      const swapping = error instanceof NotTheCardError || (error instanceof PcscError && CARD_MOVING.has(error.kind));
      if (!swapping) throw error;
      if (Date.now() >= deadline) {
        throw new CommandFailure(
          `change-code: card ${toHex(cardId)} was not presented in time (${(error as Error).message}); its code was not changed`,
          ExitCode.NO_CARD,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}
