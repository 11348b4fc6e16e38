/**
 * What `twincard reset` and `twincard change-code` decide from READ alone: which other cards share the
 * wallet, what is said before a reset, and the refusal of a primary in BACKUP_EXPORTING before anything is sent.
 */
import { fromHex } from '../../../src/apdu/index.js';
import { setMembers } from '../../../src/cli/commands/change-code.js';
import { refuseUnlessResettable, whatIsKnown } from '../../../src/cli/commands/reset.js';
import { CommandFailure } from '../../../src/cli/errors.js';
import type { CardInfo } from '../../../src/protocol/card.js';
import { WrongStateError } from '../../../src/protocol/errors.js';

const P = fromHex('5052494D00000001');
const B1 = fromHex('4241434B00000001');
const B2 = fromHex('4241434B00000002');
const info = (fields: Partial<CardInfo>): CardInfo => ({
  version: 2,
  state: 'WALLET',
  cardId: P,
  walletOrigin: 'created',
  pinTriesLeft: 5,
  signCounter: 0,
  backupCount: 0,
  backupCardIds: [],
  ...fields,
});

describe('change-code: the other cards of the set, as READ knows them', () => {
  test('a primary: its backup cards, in order', () => {
    expect(setMembers(info({ state: 'BACKED_UP', backupCount: 2, backupCardIds: [B1, B2] }))).toEqual([B1, B2]);
  });
  test('a backup card: its primary (it cannot know the other backup card)', () => {
    expect(setMembers(info({ state: 'BACKED_UP', cardId: B1, walletOrigin: 'imported', primaryId: P }))).toEqual([P]);
  });
  test('a lone wallet: nobody else', () => {
    expect(setMembers(info({}))).toEqual([]);
  });
});

describe('reset: what is said first', () => {
  test('a primary in WALLET with no backups is the only card known to hold the wallet', () => {
    expect(whatIsKnown(info({}), '5052494D00000001')).toContain('is the only card known to hold this wallet');
  });
  test('a finalized primary names its backup cards', () => {
    const text = whatIsKnown(info({ state: 'BACKED_UP', backupCount: 2, backupCardIds: [B1, B2] }), 'X');
    expect(text).toContain('its backup cards 4241434B00000001, 4241434B00000002 hold copies');
  });
  test('a backup card names its primary and says what it cannot know', () => {
    const text = whatIsKnown(info({ state: 'BACKED_UP', cardId: B1, walletOrigin: 'imported', primaryId: P }), 'X');
    expect(text).toContain('is a backup card of primary 5052494D00000001');
    expect(text).toContain('this card cannot tell');
  });
  test('BACKUP_EXPORTING is refused with the way forward (exit 8); no wallet is a state error', () => {
    const exporting = info({ state: 'BACKUP_EXPORTING', backupCount: 1, backupCardIds: [B1] });
    expect(() => refuseUnlessResettable(exporting, 'X')).toThrow(CommandFailure);
    expect(() => refuseUnlessResettable(exporting, 'X')).toThrow('twincard backup --resume');
    expect(() => refuseUnlessResettable(info({ state: 'BLANK', walletOrigin: undefined }), 'X')).toThrow(WrongStateError);
    expect(() => refuseUnlessResettable(info({}), 'X')).not.toThrow();
  });
});
