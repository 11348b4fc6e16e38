/**
 * READ and SELECT of a version 2 card, parsed strictly: the answers here are written by hand as a card
 * (or a hostile one) would send them, and each refused one is refused with the reason named.
 */
import { encodeProtocolTlvs, fromHex, toHex } from '../../../src/apdu/index.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { issueCertificate } from '../../../src/protocol/certificate.js';
import { Tag } from '../../../src/protocol/constants.js';
import { publicKeyOf } from '../../../src/protocol/crypto.js';
import { MalformedResponseError, UnsupportedVersionError } from '../../../src/protocol/errors.js';

const manufacturer = fromHex('11'.repeat(32));
const cardId = fromHex('5052494D00000001');
const certificate = issueCertificate(
  { cardId, identityPublicKey: publicKeyOf(fromHex('22'.repeat(32))), attestationPublicKey: publicKeyOf(fromHex('23'.repeat(32))) },
  manufacturer,
);
const walletKey = publicKeyOf(fromHex('33'.repeat(32)));
const B1 = fromHex('4241434B00000001');
const B2 = fromHex('4241434B00000002');

/** A card that answers every command with `data` and 9000. */
function answering(data: Uint8Array): TwincardCard {
  return new TwincardCard({ transmit: async () => Uint8Array.of(...data, 0x90, 0x00) });
}

type Fields = Partial<Record<keyof typeof Tag, Uint8Array>>;

/** A READ answer with the fields in the order section 6 lists them. */
function readAnswer(f: Fields): Uint8Array {
  const order: (keyof typeof Tag)[] = [
    'VERSION',
    'STATE',
    'CARD_ID',
    'CERTIFICATE',
    'WALLET_PUBLIC_KEY',
    'WALLET_ORIGIN',
    'PRIMARY_ID',
    'PIN_TRIES_LEFT',
    'SIGN_COUNTER',
    'BACKUP_COUNT',
    'BACKUP_CARD_IDS',
  ];
  return encodeProtocolTlvs(order.filter((n) => f[n] !== undefined).map((n) => [Tag[n], f[n] as Uint8Array]));
}

const primary = (state: number, ids: Uint8Array[], extra: Fields = {}): Fields => ({
  VERSION: Uint8Array.of(2),
  STATE: Uint8Array.of(state),
  CARD_ID: cardId,
  CERTIFICATE: certificate,
  WALLET_PUBLIC_KEY: walletKey,
  WALLET_ORIGIN: Uint8Array.of(1),
  PIN_TRIES_LEFT: Uint8Array.of(5),
  SIGN_COUNTER: Uint8Array.of(0, 0, 0, 7),
  BACKUP_COUNT: Uint8Array.of(ids.length),
  ...(ids.length > 0 && { BACKUP_CARD_IDS: Uint8Array.from(ids.flatMap((id) => [...id])) }),
  ...extra,
});

const imported: Fields = {
  ...primary(5, []),
  CARD_ID: B1,
  CERTIFICATE: issueCertificate(
    { cardId: B1, identityPublicKey: publicKeyOf(fromHex('44'.repeat(32))), attestationPublicKey: publicKeyOf(fromHex('45'.repeat(32))) },
    manufacturer,
  ),
  WALLET_ORIGIN: Uint8Array.of(2),
  PRIMARY_ID: cardId,
};

describe('READ, version 2 fields', () => {
  test('a primary that exported to two backup cards: the ids in order', async () => {
    const info = await answering(readAnswer(primary(3, [B1, B2]))).read();
    expect(info.state).toBe('BACKUP_EXPORTING');
    expect(info.backupCount).toBe(2);
    expect(info.backupCardIds.map(toHex)).toEqual([toHex(B1), toHex(B2)]);
    expect(info.primaryId).toBeUndefined();
  });

  test('a finalized primary with one backup card; a wallet never exported has none', async () => {
    expect((await answering(readAnswer(primary(5, [B1]))).read()).backupCardIds.map(toHex)).toEqual([toHex(B1)]);
    const fresh = await answering(readAnswer(primary(2, []))).read();
    expect(fresh.backupCardIds).toEqual([]);
    expect(fresh.backupCount).toBe(0);
  });

  test('an imported wallet names its primary', async () => {
    const info = await answering(readAnswer(imported)).read();
    expect(info.walletOrigin).toBe('imported');
    expect(toHex(info.primaryId!)).toBe(toHex(cardId));
    expect(info.backupCardIds).toEqual([]);
  });

  test.each<[string, Fields, string]>([
    [
      'BACKUP_CARD_IDS shorter than 8 x BACKUP_COUNT',
      primary(3, [B1, B2], { BACKUP_CARD_IDS: B1 }),
      'BACKUP_CARD_IDS is 8 bytes, expected 16',
    ],
    [
      'BACKUP_CARD_IDS longer than 8 x BACKUP_COUNT',
      primary(3, [B1], { BACKUP_CARD_IDS: fromHex(toHex(B1) + toHex(B2)) }),
      'BACKUP_CARD_IDS is 16 bytes, expected 8',
    ],
    [
      'BACKUP_CARD_IDS not a multiple of 8',
      primary(3, [B1], { BACKUP_CARD_IDS: B1.subarray(1) }),
      'BACKUP_CARD_IDS is 7 bytes, expected 8',
    ],
    ['BACKUP_CARD_IDS missing', { ...primary(3, [B1]), BACKUP_CARD_IDS: undefined }, 'BACKUP_CARD_IDS missing with BACKUP_COUNT 1'],
    [
      'BACKUP_CARD_IDS with a count of 0',
      primary(5, [], { BACKUP_COUNT: Uint8Array.of(0), BACKUP_CARD_IDS: B1 }),
      'BACKUP_COUNT is 0 in state BACKED_UP',
    ],
    ['the same id twice', primary(3, [B1, B1]), 'BACKUP_CARD_IDS names the same card twice'],
    ["the card's own id", primary(3, [cardId]), "BACKUP_CARD_IDS names the card's own id"],
    ['a count on a WALLET card', primary(2, [B1]), 'BACKUP_COUNT is 1 in state WALLET'],
    ['no count on a BACKUP_EXPORTING card', primary(3, []), 'BACKUP_COUNT is 0 in state BACKUP_EXPORTING'],
    ['a count above 2', primary(3, [B1, B2], { BACKUP_COUNT: Uint8Array.of(3) }), 'BACKUP_COUNT is 3, more than 2'],
    [
      'a count on an imported wallet',
      { ...imported, BACKUP_COUNT: Uint8Array.of(1), BACKUP_CARD_IDS: B2 },
      'BACKUP_COUNT is 1 in state BACKED_UP (wallet imported)',
    ],
    ['PRIMARY_ID on a created wallet', primary(5, [B1], { PRIMARY_ID: B2 }), 'PRIMARY_ID present in state BACKED_UP'],
    ['an imported wallet without PRIMARY_ID', { ...imported, PRIMARY_ID: undefined }, 'PRIMARY_ID missing in state BACKED_UP'],
    ["PRIMARY_ID the card's own id", { ...imported, PRIMARY_ID: B1 }, "PRIMARY_ID is the card's own id"],
    ['a wrong-size PRIMARY_ID', { ...imported, PRIMARY_ID: cardId.subarray(1) }, 'tag 0x19'],
    ['an unknown WALLET_ORIGIN', primary(2, [], { WALLET_ORIGIN: Uint8Array.of(3) }), 'unknown WALLET_ORIGIN 0x03'],
    ['an imported wallet outside BACKED_UP', { ...imported, STATE: Uint8Array.of(2) }, 'WALLET_ORIGIN 02 (imported) in state WALLET'],
    ['BACKUP_CARD_IDS on a wallet never exported', primary(2, [], { BACKUP_CARD_IDS: B1 }), 'BACKUP_CARD_IDS present with BACKUP_COUNT 0'],
  ])('refuses %s', async (_name, fields, message) => {
    const read = answering(readAnswer(fields)).read();
    await expect(read).rejects.toThrow(MalformedResponseError);
    await expect(answering(readAnswer(fields)).read()).rejects.toThrow(message);
  });
});

describe('another protocol version', () => {
  // A version 1 card's READ (no v2 fields, state BACKUP_PRIMARY = 03 with a v1 count) and SELECT.
  const v1Read = readAnswer({ ...primary(3, []), VERSION: Uint8Array.of(1), BACKUP_COUNT: Uint8Array.of(1) });

  test.each([
    ['READ', (card: TwincardCard) => card.read(), v1Read],
    ['SELECT', (card: TwincardCard) => card.select(), fromHex('010101030102')],
  ] as const)('%s of a version 1 card names the version found', async (command, call, answer) => {
    const error = await call(answering(answer)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedVersionError);
    expect((error as UnsupportedVersionError).version).toBe(1);
    expect((error as Error).message).toBe(`${command}: the card speaks twincard protocol version 1; this host speaks only version 2`);
  });

  test('a version 3 card is refused the same way, even when its fields are unknown here', async () => {
    const error = await answering(fromHex('010103030102' + '2001FF'))
      .read()
      .catch((e: unknown) => e);
    expect((error as UnsupportedVersionError).version).toBe(3);
  });
});
