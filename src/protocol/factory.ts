/**
 * Personalization, playing the factory (docs/protocol.md sections 4 and 6): PERSO_GENERATE makes the
 * card's identity and attestation keys, the manufacturer signs the certificate message, PERSO_COMMIT
 * sends the signature only (the card checks it under the root it was installed with). Used to turn the
 * FACTORY-state virtual cards into BLANK ones with the TEST manufacturer key; a real factory runs the same
 * steps with its key in an HSM.
 * @module
 */
import { certificateFieldsMessage, encodeCertificate } from './certificate.js';
import { Size } from './constants.js';
import type { TwincardCard } from './card.js';
import { checkLength, equalBytes, publicKeyOf, signMessage } from './crypto.js';
import { MalformedResponseError, WrongStateError } from './errors.js';
import type { KeyPair } from './keys.js';

/** What personalization produced. */
export interface Personalization {
  readonly cardId: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
  /** The certificate as the card now reports it. */
  readonly certificate: Uint8Array;
}

/**
 * Personalizes a card in FACTORY state: SELECT, PERSO_GENERATE(card id), the manufacturer signs
 * `"TWINCARD:CERT:02" || card id || identity key || attestation key`, PERSO_COMMIT, then READ to check that the card
 * is BLANK with exactly this id and certificate.
 * @param manufacturer the manufacturer key pair (for the virtual cards: the TEST key of
 *   fixtures/test-manufacturer, see `keyPairFromPem`); the card refuses (`9A01`) unless it was
 *   installed with this key's public half as its root
 * @throws WrongStateError when the card is not in FACTORY state; CardRefusedError;
 *   MalformedResponseError when the card does not report what was committed; RangeError.
 * @example await personalize(card, fromHex('0000000000000001'), keyPairFromPem(pem))
 */
export async function personalize(card: TwincardCard, cardId: Uint8Array, manufacturer: KeyPair): Promise<Personalization> {
  checkLength('card id', cardId, Size.CARD_ID);
  if (!equalBytes(publicKeyOf(manufacturer.privateKey), manufacturer.publicKey)) {
    throw new RangeError('manufacturer: the public key does not belong to the private key');
  }
  const { state } = await card.select();
  if (state !== 'FACTORY') throw new WrongStateError('personalize', state, ['FACTORY']);
  const { identityPublicKey, attestationPublicKey } = await card.persoGenerate(cardId);
  const fields = { cardId, identityPublicKey, attestationPublicKey };
  const signature = signMessage(certificateFieldsMessage(fields), manufacturer.privateKey);
  await card.persoCommit(signature);
  const expected = encodeCertificate({ ...fields, signature });
  const info = await card.read();
  if (info.state !== 'BLANK') throw new MalformedResponseError('READ', `state ${info.state} after PERSO_COMMIT, expected BLANK`);
  if (info.cardId === undefined || !equalBytes(info.cardId, cardId)) {
    throw new MalformedResponseError('READ', 'the card id differs from the one personalized');
  }
  if (info.certificate === undefined || !equalBytes(info.certificate, expected)) {
    throw new MalformedResponseError('READ', 'the certificate differs from the one committed');
  }
  return { cardId: cardId.slice(), identityPublicKey, attestationPublicKey, certificate: info.certificate };
}
