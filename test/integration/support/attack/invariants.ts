/**
 * I1 and I2 of docs/protocol.md section 9.1, checked on what the cards themselves report (READ), against what
 * the host has seen. Pure: the callers READ every card and pass the views in.
 */
import { toHex } from '../../../../src/apdu/index.js';
import type { CardView } from './wire.js';

/** A wallet whose creating card was RESET: its clones still count against the creator's final record. */
export interface RetiredWallet {
  readonly primaryId: string;
  readonly backupCardIds: readonly string[];
}

export interface InvariantInput {
  /** READ of every test card, by test index. */
  readonly views: readonly CardView[];
  /** Primary id (hex) -> the ids (hex) of the cards the host has received a wallet blob for from it. */
  readonly received: ReadonlyMap<string, ReadonlySet<string>>;
  /** Wallet key (hex) -> the record of its creator when the creator was RESET (RESET is refused until it is final). */
  readonly retired?: ReadonlyMap<string, RetiredWallet>;
  /** The views at the previous check, for "nothing ever removes an id or lowers BACKUP_COUNT". */
  readonly previous?: readonly CardView[];
}

const EXPORTED_STATES = new Set(['BACKUP_EXPORTING', 'BACKED_UP']);

/** Every violation found, each a sentence naming the cards; empty when I1 and I2 hold. */
export function invariantViolations({ views, received, retired, previous }: InvariantInput): string[] {
  const problems: string[] = [];
  const idOf = (k: number): string => (views[k]?.cardId ? toHex(views[k].cardId) : `card ${k} (no id)`);
  const creators = new Map<string, number>();
  views.forEach((v, k) => {
    if (v.origin === 'created' && v.walletPublicKey) creators.set(toHex(v.walletPublicKey), k);
  });

  // I1: at most 2 cards other than the primary hold its wallet; and none the primary does not name (I2).
  const holders = new Map<string, number[]>();
  views.forEach((v, k) => {
    if (v.walletPublicKey === undefined || v.origin === 'created') return;
    const key = toHex(v.walletPublicKey);
    holders.set(key, [...(holders.get(key) ?? []), k]);
  });
  for (const [key, ks] of holders) {
    const creator = creators.get(key);
    if (creator === undefined) {
      // The creator was RESET (from BACKED_UP: its record was final): the clones count against that record.
      const record = retired?.get(key);
      if (record === undefined) {
        problems.push(`cards ${ks.join(', ')} hold a wallet that no card created (key ${key.slice(0, 16)}...)`);
        continue;
      }
      if (ks.length > 2) problems.push(`I1: ${ks.length} cards (${ks.join(', ')}) hold the wallet of reset primary ${record.primaryId}`);
      for (const k of ks) {
        if (!record.backupCardIds.includes(idOf(k))) {
          problems.push(
            `I1/I2: card ${k} (${idOf(k)}) holds the wallet of reset primary ` +
              `${record.primaryId}, whose final record was [${record.backupCardIds.join(', ')}]`,
          );
        }
        const claimed = views[k]!.primaryId;
        if (claimed === undefined || toHex(claimed) !== record.primaryId)
          problems.push(
            `card ${k} holds reset primary ${record.primaryId}'s wallet but names primary ${claimed ? toHex(claimed) : 'none'}`,
          );
      }
      continue;
    }
    const primary = views[creator]!;
    if (ks.length > 2) problems.push(`I1: ${ks.length} cards (${ks.join(', ')}) besides primary ${creator} hold its wallet`);
    for (const k of ks) {
      if (!primary.backupCardIds.includes(idOf(k))) {
        problems.push(
          `I1/I2: card ${k} (${idOf(k)}) holds primary ${creator}'s wallet but ` +
            `the primary's BACKUP_CARD_IDS is [${primary.backupCardIds.join(', ')}]`,
        );
      }
      const claimed = views[k]!.primaryId;
      if (claimed === undefined || toHex(claimed) !== idOf(creator)) {
        problems.push(`card ${k} holds primary ${creator}'s wallet but names primary ${claimed ? toHex(claimed) : 'none'}`);
      }
    }
  }

  // I2: every card the host received a blob for is named by the primary.
  for (const [primaryId, backups] of received) {
    const k = views.findIndex((v) => v.cardId !== undefined && toHex(v.cardId) === primaryId);
    if (k < 0) {
      problems.push(`I2: primary ${primaryId} exported but no test card has that id any more`);
      continue;
    }
    for (const b of backups) {
      if (!views[k]!.backupCardIds.includes(b)) {
        problems.push(
          `I2: the host received a blob for ${b} from card ${k}, whose BACKUP_CARD_IDS is [${views[k]!.backupCardIds.join(', ')}]`,
        );
      }
    }
    if (!EXPORTED_STATES.has(views[k]!.state)) problems.push(`I2: card ${k} let a blob out but is in ${views[k]!.state}`);
  }

  // I2: the record only grows, and a primary that let a blob out only goes forward.
  views.forEach((v, k) => {
    if (v.backupCount > 0 && !EXPORTED_STATES.has(v.state)) problems.push(`I2: card ${k} counts ${v.backupCount} backups in ${v.state}`);
    const before = previous?.[k];
    if (before === undefined || toHex(before.cardId ?? new Uint8Array()) !== toHex(v.cardId ?? new Uint8Array())) return;
    // RESET: only from WALLET or BACKED_UP (never BACKUP_EXPORTING), to BLANK, the record erased with the wallet.
    if (v.state === 'BLANK' && (before.state === 'WALLET' || before.state === 'BACKED_UP')) return;
    if (v.backupCount < before.backupCount)
      problems.push(`I2: card ${k}'s BACKUP_COUNT went from ${before.backupCount} to ${v.backupCount}`);
    if (!before.backupCardIds.every((id, i) => v.backupCardIds[i] === id)) {
      problems.push(`I2: card ${k}'s BACKUP_CARD_IDS went from [${before.backupCardIds.join(', ')}] to [${v.backupCardIds.join(', ')}]`);
    }
    if (EXPORTED_STATES.has(before.state) && !EXPORTED_STATES.has(v.state)) {
      problems.push(`I2: card ${k} went back from ${before.state} to ${v.state}`);
    }
    if (before.state === 'BACKED_UP' && v.state !== 'BACKED_UP') problems.push(`card ${k} left BACKED_UP for ${v.state}`);
  });
  return problems;
}
