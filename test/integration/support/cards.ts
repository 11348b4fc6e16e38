/**
 * The integration tests' way to a twincard applet on a virtual card, through the real stack
 * (pcsclite -> pcscd -> vpcd -> jCardSim): open a card by test index, and make one factory-fresh and
 * personalized with the TEST manufacturer key, as the factory would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcscService, type PcscCard } from '../../../src/readers/index.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { personalize, type Personalization } from '../../../src/protocol/factory.js';
import { keyPairFromPem, type KeyPair } from '../../../src/protocol/keys.js';
import { readerForCard, repoRoot, sim } from './sim.js';

export function testManufacturer(): KeyPair {
  return keyPairFromPem(readFileSync(join(repoRoot, 'fixtures', 'test-manufacturer', 'private-key.pem'), 'utf8'));
}

/** A card id for test card k that no other test card has: ASCII "TEST" then 00 00 00 k+1. */
export function testCardId(k: number, prefix = 'TEST'): Uint8Array {
  const id = new Uint8Array(8);
  id.set(new TextEncoder().encode(prefix.padEnd(4).slice(0, 4)));
  id[7] = k + 1;
  return id;
}

export interface OpenCard {
  readonly card: TwincardCard;
  readonly pcsc: PcscCard;
  readonly close: () => Promise<void>;
}

/** Connects to test card k (exclusive, T=any) and wraps it; the caller selects. */
export async function openCard(service: PcscService, k: number): Promise<OpenCard> {
  const reader = readerForCard(k);
  await service.waitForCard(reader, { timeoutMs: 10_000 });
  const pcsc = await service.connect(reader, { share: 'exclusive', protocol: 'any' });
  return {
    card: new TwincardCard(pcsc),
    pcsc,
    close: () => pcsc.disconnect('leave'),
  };
}

export interface PersonalizedCard extends OpenCard {
  readonly perso: Personalization;
}

/** Wipes test card k to FACTORY and personalizes it: a genuine BLANK card with the TEST manufacturer key. */
export async function freshBlankCard(service: PcscService, k: number, cardId = testCardId(k)): Promise<PersonalizedCard> {
  sim('wipe', k);
  const open = await openCard(service, k);
  try {
    const perso = await personalize(open.card, cardId, testManufacturer());
    return { ...open, perso };
  } catch (error) {
    // Release the card held exclusively, or every later test on it fails with a sharing violation instead of
    // its own reason.
    await open.close().catch(() => undefined);
    throw error;
  }
}
