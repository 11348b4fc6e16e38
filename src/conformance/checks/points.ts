/**
 * Invalid points of the suite's own, beside Wycheproof's (fixtures/wycheproof): coordinates not below p,
 * the zero point, and prefixes other than 04. Each is refused with 9A04 wherever a card receives a key it must
 * check on the curve; EH at OPEN_SESSION is held to its form only (protocol.md section 1), so there only the
 * malformed ones must be.
 * @module
 */
import { toHex } from '../../apdu/index.js';
import { SECP256K1_P } from '../../protocol/crypto.js';
import { randomKeyPair } from '../soft-card.js';
import { be32 } from './common.js';

const P = SECP256K1_P;

export function edgePoints(): Array<{ name: string; point: Uint8Array }> {
  const g = randomKeyPair().publicKey;
  const xIsP = g.slice();
  xIsP.set(be32(P), 1);
  const yIsP = g.slice();
  yIsP.set(be32(P), 33);
  const xPlusP = g.slice(); // X + p still fits 32 bytes when X < 2^256 - p: the same point mod p, not reduced
  const x = BigInt('0x' + toHex(g.subarray(1, 33)));
  xPlusP.set(be32(x + P < 2n ** 256n ? x + P : P), 1);
  const prefix02 = g.slice();
  prefix02[0] = 0x02;
  const prefix06 = g.slice();
  prefix06[0] = 0x06;
  return [
    { name: 'x-is-p', point: xIsP },
    { name: 'y-is-p', point: yIsP },
    { name: 'x-plus-p', point: xPlusP },
    { name: 'zero', point: Uint8Array.of(0x04, ...new Uint8Array(64)) },
    { name: 'prefix-02', point: prefix02 },
    { name: 'prefix-06-hybrid', point: prefix06 },
  ];
}
