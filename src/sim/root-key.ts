/**
 * The manufacturer root a virtual card's applets are installed with (docs/protocol.md section 6, "Installation":
 * install parameter tag 0D holds the 65-byte uncompressed secp256k1 point): read from a PEM file.
 * @module
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class RootKeyError extends Error {
  override readonly name = 'RootKeyError';
}

/**
 * The uncompressed point 04 || X || Y (uppercase hex, 130 digits) of the secp256k1 public or private key in `pemPath`.
 * @throws RootKeyError naming the file when it cannot be read, is not a PEM key, or not a secp256k1 EC key
 * @example rootPointHex('fixtures/test-manufacturer/public-key.pem') // '04...'
 */
export function rootPointHex(pemPath: string): string {
  let text: string;
  try {
    text = readFileSync(pemPath, 'utf8');
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new RootKeyError(`root ${pemPath}: ${why}`);
  }
  let key: KeyObject;
  try {
    // A private key PEM gives its public key too: createPublicKey derives it.
    key = createPublicKey(text);
  } catch {
    throw new RootKeyError(`root ${pemPath}: not a PEM public or private key`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp256k1') {
    const kind = `${key.asymmetricKeyType ?? 'unknown'} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trimEnd();
    throw new RootKeyError(`root ${pemPath}: not a secp256k1 key (${kind})`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new RootKeyError(`root ${pemPath}: no public point`);
  const coordinate = (b64: string) => Buffer.from(b64, 'base64url').toString('hex').padStart(64, '0');
  return `04${coordinate(jwk.x)}${coordinate(jwk.y)}`.toUpperCase();
}
