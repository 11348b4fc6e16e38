/**
 * secp256k1 keys in the files people exchange: PEM armour (RFC 7468), SubjectPublicKeyInfo
 * (RFC 5480: id-ecPublicKey with the named curve secp256k1, 1.3.132.0.10), and EC private keys as
 * SEC1 `EC PRIVATE KEY` (RFC 5915) or PKCS#8 `PRIVATE KEY` (RFC 5208). ASN.1 is read with asn1js;
 * anything else (another curve, explicit parameters, a compressed point, trailing bytes) is refused
 * with a message that says what was found.
 * @module
 */
import { fromBER, BitString, Constructed, Integer, ObjectIdentifier, OctetString, Sequence } from 'asn1js';
import { Size } from './constants.js';
import { checkPrivateKey, describeType, equalBytes, publicKeyOf, validatePublicKey, zeroize } from './crypto.js';
import { KeyFormatError } from './errors.js';

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_SECP256K1 = '1.3.132.0.10';

/** Curves people are likely to hand us by mistake, for the error message. */
const KNOWN_CURVES: Readonly<Record<string, string>> = Object.freeze({
  '1.2.840.10045.3.1.7': 'P-256 (prime256v1)',
  '1.3.132.0.34': 'P-384 (secp384r1)',
  '1.3.132.0.35': 'P-521 (secp521r1)',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
  '1.3.132.0.10': 'secp256k1',
});

const KNOWN_ALGORITHMS: Readonly<Record<string, string>> = Object.freeze({
  '1.2.840.113549.1.1.1': 'RSA',
  '1.3.101.112': 'Ed25519',
  '1.3.101.110': 'X25519',
  '1.2.840.10045.2.1': 'id-ecPublicKey',
});

/** A secp256k1 key pair. The private key is secret: {@link zeroize} it when done. */
export interface KeyPair {
  /** d, 32 bytes big-endian. */
  readonly privateKey: Uint8Array;
  /** 65 bytes, uncompressed. */
  readonly publicKey: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// PEM

/** One PEM block. */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The one PEM block of `text` whose label is in `labels`. Text around blocks is allowed (RFC 7468
 * section 5.2) and blocks with other labels are skipped (OpenSSL puts `EC PARAMETERS` before
 * `EC PRIVATE KEY`); the base64 must be canonical.
 * @param what names the input in messages, e.g. a file name
 * @throws TypeError for a non-string; KeyFormatError for no matching block, several, a BEGIN/END
 *   mismatch or bad base64.
 */
export function decodePem(text: string, labels: readonly string[], what = 'PEM'): PemBlock {
  if (typeof text !== 'string') throw new TypeError(`${what}: expected a string, got ${describeType(text)}`);
  const found: PemBlock[] = [];
  const seen: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [, begin = '', body = '', end = ''] = match;
    if (begin !== end) throw new KeyFormatError(what, `BEGIN ${begin} closed by END ${end}`);
    seen.push(begin);
    if (!labels.includes(begin)) continue;
    found.push({ label: begin, der: decodeBase64(body, `${what} (${begin})`) });
  }
  const wanted = labels.map((l) => `"${l}"`).join(' or ');
  if (found.length === 0) {
    const got = seen.length === 0 ? 'no PEM block at all' : `only ${seen.map((l) => `"${l}"`).join(', ')}`;
    throw new KeyFormatError(what, `expected a PEM block ${wanted}, found ${got}`);
  }
  if (found.length > 1) throw new KeyFormatError(what, `expected one PEM block ${wanted}, found ${found.length}`);
  return found[0] as PemBlock;
}

function decodeBase64(body: string, what: string): Uint8Array {
  const lines = body
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  for (const line of lines) {
    if (!BASE64_LINE.test(line)) throw new KeyFormatError(what, 'invalid base64 (or PEM headers, which are not supported)');
  }
  const joined = lines.join('');
  const bytes = Buffer.from(joined, 'base64');
  // Node's decoder skips what it does not understand; round-tripping catches misplaced padding.
  if (bytes.toString('base64') !== joined) throw new KeyFormatError(what, 'base64 is not canonical');
  return new Uint8Array(bytes);
}

/** PEM armour for DER bytes, 64 characters a line. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// ---------------------------------------------------------------------------------------------
// SubjectPublicKeyInfo

/**
 * The 65-byte public key of a DER SubjectPublicKeyInfo for secp256k1. The input must be exactly the
 * canonical encoding (which is unique for this key type), so nothing can hide in it.
 * @throws KeyFormatError naming what was found instead (another algorithm or curve, a compressed
 *   point, ...); InvalidPointError for a point not on the curve.
 */
export function parseSpki(der: Uint8Array, what = 'public key'): Uint8Array {
  const [algorithm, keyBits] = sequenceOf(parseDer(der, what), 2, `${what}: SubjectPublicKeyInfo`);
  checkAlgorithm(algorithm, what);
  if (!(keyBits instanceof BitString)) throw new KeyFormatError(what, 'expected a BIT STRING subjectPublicKey');
  if (keyBits.valueBlock.unusedBits !== 0) throw new KeyFormatError(what, 'subjectPublicKey has unused bits');
  const point = keyBits.valueBlock.valueHexView.slice();
  if (point.length === 33 && (point[0] === 0x02 || point[0] === 0x03)) {
    throw new KeyFormatError(what, 'compressed point: the protocol uses uncompressed keys (04 || X || Y)');
  }
  validatePublicKey(point, what);
  if (!equalBytes(encodeSpki(point), der)) throw new KeyFormatError(what, 'not in canonical DER form');
  return point;
}

/** The DER SubjectPublicKeyInfo of a 65-byte secp256k1 public key. */
export function encodeSpki(publicKey: Uint8Array): Uint8Array {
  validatePublicKey(publicKey);
  const spki = new Sequence({
    value: [
      new Sequence({ value: [new ObjectIdentifier({ value: OID_EC_PUBLIC_KEY }), new ObjectIdentifier({ value: OID_SECP256K1 })] }),
      new BitString({ valueHex: publicKey, unusedBits: 0 }),
    ],
  });
  return new Uint8Array(spki.toBER(false));
}

/**
 * The public key of a `PUBLIC KEY` PEM (SubjectPublicKeyInfo) on secp256k1.
 * @example publicKeyFromPem(readFileSync('fixtures/test-manufacturer/public-key.pem', 'utf8'))
 */
export function publicKeyFromPem(pem: string, what = 'public key PEM'): Uint8Array {
  return parseSpki(decodePem(pem, ['PUBLIC KEY'], what).der, what);
}

/** `PUBLIC KEY` PEM text for a 65-byte secp256k1 public key. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  return encodePem('PUBLIC KEY', encodeSpki(publicKey));
}

// ---------------------------------------------------------------------------------------------
// Private keys

/**
 * The key pair of an `EC PRIVATE KEY` (SEC1) or `PRIVATE KEY` (PKCS#8) PEM on secp256k1. When the
 * file also carries the public key, it must match the private one.
 * @throws KeyFormatError naming what is wrong; RangeError for a private key outside 1..n-1.
 */
export function keyPairFromPem(pem: string, what = 'private key PEM'): KeyPair {
  const block = decodePem(pem, ['EC PRIVATE KEY', 'PRIVATE KEY'], what);
  try {
    return block.label === 'PRIVATE KEY' ? parsePkcs8(block.der, what) : parseEcPrivateKey(block.der, what, true);
  } finally {
    zeroize(block.der);
  }
}

/** PKCS#8 PrivateKeyInfo: `SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING ECPrivateKey, [0] attributes OPTIONAL }`. */
function parsePkcs8(der: Uint8Array, what: string): KeyPair {
  const items = children(parseDer(der, what), `${what}: PrivateKeyInfo`);
  if (items.length < 3 || items.length > 4) {
    throw new KeyFormatError(what, `PrivateKeyInfo: expected 3 or 4 items, got ${items.length}`);
  }
  const [version, algorithm, privateKey] = items as [unknown, unknown, unknown];
  expectInteger(version, 0n, `${what}: PrivateKeyInfo version`);
  checkAlgorithm(algorithm, what);
  if (!(privateKey instanceof OctetString)) throw new KeyFormatError(what, 'PrivateKeyInfo: expected an OCTET STRING privateKey');
  const inner = privateKey.valueBlock.valueHexView.slice();
  try {
    // The curve is named by the outer AlgorithmIdentifier; the inner parameters are optional.
    return parseEcPrivateKey(inner, what, false);
  } finally {
    zeroize(inner);
  }
}

/**
 * SEC1 ECPrivateKey: `SEQUENCE { INTEGER 1, OCTET STRING d, [0] named curve OPTIONAL, [1] BIT STRING
 * public key OPTIONAL }`.
 */
function parseEcPrivateKey(der: Uint8Array, what: string, curveRequired: boolean): KeyPair {
  const items = children(parseDer(der, what), `${what}: ECPrivateKey`);
  if (items.length < 2 || items.length > 4) throw new KeyFormatError(what, `ECPrivateKey: expected 2..4 items, got ${items.length}`);
  const [version, secret, ...optional] = items as [unknown, unknown, ...unknown[]];
  expectInteger(version, 1n, `${what}: ECPrivateKey version`);
  if (!(secret instanceof OctetString)) throw new KeyFormatError(what, 'ECPrivateKey: expected an OCTET STRING privateKey');
  const privateKey = secret.valueBlock.valueHexView.slice();
  try {
    if (privateKey.length !== Size.PRIVATE_KEY) {
      throw new KeyFormatError(what, `ECPrivateKey: expected a ${Size.PRIVATE_KEY}-byte private key, got ${privateKey.length}`);
    }
    let curveSeen = false;
    let embeddedPublicKey: Uint8Array | undefined;
    let lastTag = -1;
    for (const item of optional) {
      const tag = contextTag(item);
      if (tag === undefined || tag <= lastTag || tag > 1 || !(item instanceof Constructed) || item.valueBlock.value.length !== 1) {
        throw new KeyFormatError(what, 'ECPrivateKey: expected [0] parameters and/or [1] publicKey after the private key');
      }
      lastTag = tag;
      const content = item.valueBlock.value[0];
      if (tag === 0) {
        checkCurve(content, what);
        curveSeen = true;
      } else if (content instanceof BitString && content.valueBlock.unusedBits === 0) {
        embeddedPublicKey = content.valueBlock.valueHexView.slice();
      } else {
        throw new KeyFormatError(what, 'ECPrivateKey: [1] publicKey is not a BIT STRING');
      }
    }
    if (curveRequired && !curveSeen) throw new KeyFormatError(what, 'ECPrivateKey without [0] parameters: the curve is unknown');
    checkPrivateKey(privateKey, `${what}: private key`);
    const publicKey = publicKeyOf(privateKey);
    if (embeddedPublicKey !== undefined && !equalBytes(embeddedPublicKey, publicKey)) {
      throw new KeyFormatError(what, 'the embedded public key does not belong to the private key');
    }
    return { privateKey, publicKey };
  } catch (e) {
    zeroize(privateKey);
    throw e;
  }
}

/**
 * SEC1 `EC PRIVATE KEY` PEM text for a key pair (with the curve and the public key), what OpenSSL
 * writes with `openssl ec`.
 */
export function keyPairToPem(keyPair: KeyPair): string {
  checkPrivateKey(keyPair.privateKey);
  const ecPrivateKey = new Sequence({
    value: [
      new Integer({ value: 1 }),
      new OctetString({ valueHex: keyPair.privateKey }),
      new Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new ObjectIdentifier({ value: OID_SECP256K1 })] }),
      new Constructed({
        idBlock: { tagClass: 3, tagNumber: 1 },
        value: [new BitString({ valueHex: publicKeyOf(keyPair.privateKey), unusedBits: 0 })],
      }),
    ],
  });
  const der = new Uint8Array(ecPrivateKey.toBER(false));
  const pem = encodePem('EC PRIVATE KEY', der);
  zeroize(der);
  return pem;
}

// ---------------------------------------------------------------------------------------------
// ASN.1 helpers

function parseDer(der: Uint8Array, what: string): unknown {
  if (!(der instanceof Uint8Array)) throw new TypeError(`${what}: expected Uint8Array, got ${describeType(der)}`);
  const parsed = fromBER(der, { maxDepth: 8, maxNodes: 64 });
  if (parsed.offset === -1) {
    const problem = 'error' in parsed.result ? parsed.result.error : 'unparseable';
    throw new KeyFormatError(what, `ASN.1 error: ${problem}`);
  }
  if (parsed.offset !== der.length) throw new KeyFormatError(what, `${der.length - parsed.offset} trailing bytes after the DER`);
  return parsed.result;
}

function children(node: unknown, what: string): unknown[] {
  if (!(node instanceof Sequence)) throw new KeyFormatError(what, `expected a SEQUENCE, got ${describeType(node)}`);
  return node.valueBlock.value;
}

function sequenceOf(node: unknown, count: number, what: string): unknown[] {
  const items = children(node, what);
  if (items.length !== count) throw new KeyFormatError(what, `expected ${count} items, got ${items.length}`);
  return items;
}

/** AlgorithmIdentifier `{ id-ecPublicKey, namedCurve secp256k1 }`. */
function checkAlgorithm(node: unknown, what: string): void {
  const items = children(node, `${what}: AlgorithmIdentifier`);
  const [algorithm, parameters] = items as [unknown, unknown];
  if (!(algorithm instanceof ObjectIdentifier)) throw new KeyFormatError(what, 'AlgorithmIdentifier: expected an OBJECT IDENTIFIER');
  const oid = algorithm.getValue();
  if (oid !== OID_EC_PUBLIC_KEY) {
    throw new KeyFormatError(what, `algorithm ${nameOf(oid, KNOWN_ALGORITHMS)} is not id-ecPublicKey (${OID_EC_PUBLIC_KEY})`);
  }
  if (items.length !== 2) throw new KeyFormatError(what, 'AlgorithmIdentifier: expected the algorithm and a named curve');
  checkCurve(parameters, what);
}

function checkCurve(node: unknown, what: string): void {
  if (!(node instanceof ObjectIdentifier)) {
    throw new KeyFormatError(what, 'curve parameters are not a named curve OID (explicit parameters are not accepted)');
  }
  const oid = node.getValue();
  if (oid !== OID_SECP256K1) {
    throw new KeyFormatError(what, `curve ${nameOf(oid, KNOWN_CURVES)} is not secp256k1 (${OID_SECP256K1})`);
  }
}

function expectInteger(node: unknown, expected: bigint, what: string): void {
  if (!(node instanceof Integer)) throw new KeyFormatError(what, 'expected an INTEGER');
  const value = node.toBigInt();
  if (value !== expected) throw new KeyFormatError(what, `expected ${expected}, got ${value}`);
}

function contextTag(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('idBlock' in node)) return undefined;
  const { idBlock } = node as { idBlock: { tagClass: number; tagNumber: number } };
  return idBlock.tagClass === 3 ? idBlock.tagNumber : undefined;
}

function nameOf(oid: string, names: Readonly<Record<string, string>>): string {
  const name = names[oid];
  return name === undefined ? oid : `${name} (${oid})`;
}
