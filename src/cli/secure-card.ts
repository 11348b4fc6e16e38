/**
 * What every command that puts a secret into a card or relies on its answer does first (docs/protocol.md
 * section 1.4): SELECT and READ, the certificate verified under the trusted roots and matched to READ's
 * card id, then OPEN_SESSION, whose signature over the host's fresh EH is a fresh attestation. A card
 * chained to the TEST root is used only when the user trusted it, and then with a warning on stderr
 * every time.
 * @module
 */
import { toHex } from '../apdu/index.js';
import { verifyCardCertificate } from '../protocol/attestation.js';
import type { CardInfo, TwincardCard } from '../protocol/card.js';
import type { Certificate } from '../protocol/certificate.js';
import { SessionKeyNotCertifiedError } from '../protocol/errors.js';
import type { TrustedRoot } from '../protocol/roots.js';
import { CommandFailure } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { Output } from './output.js';

export interface VerifiedCard {
  readonly info: CardInfo;
  readonly certificate: Certificate;
  readonly root: TrustedRoot;
}

/** The warning printed each time a TEST card is used: its root's private key is public. */
export function testRootWarning(cardId: Uint8Array): string {
  return (
    `WARNING: card ${toHex(cardId)} is certified by the TEST manufacturer root, whose private key is public: ` +
    'it proves nothing, use it for tests only'
  );
}

/**
 * SELECT, READ, the certificate checks; nothing else is sent. Exit 6 (not genuine) when they fail.
 * @param what the command, for messages
 */
export async function readVerifiedCard(
  card: TwincardCard,
  roots: readonly TrustedRoot[],
  out: Output,
  what: string,
): Promise<VerifiedCard> {
  await card.select();
  const info = await card.read();
  const check = verifyCardCertificate(info, roots);
  if (!check.ok) {
    const exit = check.reason.code === 'NOT_PERSONALIZED' ? ExitCode.CARD_REFUSED : ExitCode.NOT_GENUINE;
    throw new CommandFailure(`${what}: ${check.reason.message}; nothing was sent to the card`, exit);
  }
  if (check.root.test) out.emphasis(testRootWarning(check.certificate.cardId));
  return { info, certificate: check.certificate, root: check.root };
}

/**
 * Opens the card session under the verified certificate: a card that cannot sign the session with the
 * certified attestation key is not genuine (exit 6), and nothing secret was sent to it.
 */
export async function openVerifiedSession(card: TwincardCard, verified: VerifiedCard, what: string): Promise<void> {
  try {
    await card.openSession(verified.certificate);
  } catch (error) {
    if (error instanceof SessionKeyNotCertifiedError) {
      throw new CommandFailure(`${what}: ${error.message}; the access code was not sent`, ExitCode.NOT_GENUINE);
    }
    throw error;
  }
}

/** {@link readVerifiedCard} then {@link openVerifiedSession}. */
export async function verifyAndOpenSession(
  card: TwincardCard,
  roots: readonly TrustedRoot[],
  out: Output,
  what: string,
): Promise<VerifiedCard> {
  const verified = await readVerifiedCard(card, roots, out, what);
  await openVerifiedSession(card, verified, what);
  return verified;
}
