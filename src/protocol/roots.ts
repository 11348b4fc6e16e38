/**
 * The manufacturer keys the host trusts to certify cards (docs/protocol.md section 4), as PEM
 * SubjectPublicKeyInfo on secp256k1.
 *
 * No production manufacturer exists yet, so the built-in production list is empty and a card is
 * genuine only under a root the user adds or, for tests and the demo, the TEST root (trusted only
 * when asked: `--trust-test-root`).
 * @module
 */
import { publicKeyFromPem } from './keys.js';

/** A manufacturer public key the host trusts. */
export interface TrustedRoot {
  /** For people: where the key comes from. */
  readonly label: string;
  /** 65 bytes, uncompressed secp256k1. */
  readonly publicKey: Uint8Array;
  /** True for keys whose private half is public (the test manufacturer): never a proof of anything. */
  readonly test: boolean;
}

/**
 * The TEST manufacturer's public key: the same as `fixtures/test-manufacturer/public-key.pem`,
 * carried here so the installed tool does not depend on the fixtures folder. Its private key is
 * published in that folder.
 */
export const TEST_MANUFACTURER_ROOT_PEM = `-----BEGIN PUBLIC KEY-----
MFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAExbsTjkXsYH1Zi+NZRookSQ1pEzf0WBXf
htiDCCydSxusbULL0SDdsBqzaxCVtrwJLuEmFijVh2yALLFM5pDfrg==
-----END PUBLIC KEY-----
`;

/** Production manufacturer roots built into the host. Empty until a real manufacturer exists. */
const PRODUCTION_ROOTS: readonly TrustedRoot[] = Object.freeze([]);

/**
 * A trusted root from a `PUBLIC KEY` PEM (SubjectPublicKeyInfo, id-ecPublicKey, secp256k1).
 * @param label names the root in verdicts and errors, e.g. the file it came from
 * @throws KeyFormatError for another curve or format, with what was found; InvalidPointError.
 * @example rootFromPem(readFileSync('acme-root.pem', 'utf8'), 'acme-root.pem')
 */
export function rootFromPem(pem: string, label: string, options: { test?: boolean } = {}): TrustedRoot {
  const publicKey = publicKeyFromPem(pem, label);
  return Object.freeze({ label, publicKey, test: options.test ?? false });
}

/** The TEST manufacturer as a root (`test: true`). */
export function testManufacturerRoot(): TrustedRoot {
  return rootFromPem(TEST_MANUFACTURER_ROOT_PEM, 'TEST manufacturer (fixtures/test-manufacturer)', { test: true });
}

/**
 * The roots to verify against: the production ones, those the user added, and the TEST root only
 * when `trustTestRoot` is set.
 */
export function trustedRoots(options: { trustTestRoot?: boolean; extra?: readonly TrustedRoot[] } = {}): readonly TrustedRoot[] {
  const roots = [...PRODUCTION_ROOTS, ...(options.extra ?? [])];
  if (options.trustTestRoot === true) roots.push(testManufacturerRoot());
  return Object.freeze(roots);
}
