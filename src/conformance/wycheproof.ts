/**
 * The invalid-curve points of the conformance suite: Wycheproof's ECDH secp256k1 test vectors whose
 * public key is an uncompressed point NOT on secp256k1 (point not on curve, invalid-curve attack, wrong
 * curve), extracted once into `fixtures/wycheproof/ecdh_secp256k1_invalid_points.json` with their source.
 * The file is input like any other: it is parsed strictly and every point is re-checked to be invalid.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fromHex } from '../apdu/index.js';
import { isValidPublicKey } from '../protocol/crypto.js';

export interface InvalidPoint {
  /** Wycheproof's test case id, part of the check id. */
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  /** 65 bytes, `04 || X || Y`, not a valid secp256k1 point. */
  readonly point: Uint8Array;
}

export interface InvalidPointFixture {
  readonly source: { readonly repository: string; readonly path: string; readonly commit: string };
  readonly points: readonly InvalidPoint[];
}

export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

/**
 * Parses the fixture's JSON text.
 * @throws FixtureError naming the first fault: not JSON, a missing field, a point that is not 65 bytes of
 *   hex starting 04, a point that IS valid (the fixture would test nothing), a duplicate tcId.
 * @example parseInvalidPointFixture(readFileSync(path, 'utf8')).points.length // 24
 */
export function parseInvalidPointFixture(text: string): InvalidPointFixture {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new FixtureError(`invalid-point fixture: not JSON (${(e as Error).message})`);
  }
  const root = asObject(doc, 'the document');
  const sourceObj = asObject(root['source'], 'source');
  const source = {
    repository: asString(sourceObj['repository'], 'source.repository'),
    path: asString(sourceObj['path'], 'source.path'),
    commit: asString(sourceObj['commit'], 'source.commit'),
  };
  const list = root['points'];
  if (!Array.isArray(list) || list.length === 0) throw new FixtureError('invalid-point fixture: points must be a non-empty array');
  const seen = new Set<number>();
  const points = list.map((item: unknown, i: number): InvalidPoint => {
    const o = asObject(item, `points[${i}]`);
    const tcId = o['tcId'];
    if (typeof tcId !== 'number' || !Number.isSafeInteger(tcId) || tcId < 1) {
      throw new FixtureError(`invalid-point fixture: points[${i}].tcId must be a positive integer`);
    }
    if (seen.has(tcId)) throw new FixtureError(`invalid-point fixture: duplicate tcId ${tcId}`);
    seen.add(tcId);
    const flags = o['flags'];
    if (!Array.isArray(flags) || !flags.every((f): f is string => typeof f === 'string')) {
      throw new FixtureError(`invalid-point fixture: points[${i}].flags must be an array of strings`);
    }
    const hex = asString(o['point'], `points[${i}].point`);
    if (!/^04[0-9A-Fa-f]{128}$/.test(hex)) {
      throw new FixtureError(`invalid-point fixture: points[${i}].point must be 65 bytes of hex starting 04`);
    }
    const point = fromHex(hex);
    if (isValidPublicKey(point)) {
      throw new FixtureError(`invalid-point fixture: tcId ${tcId} is a VALID secp256k1 point: it would test nothing`);
    }
    return Object.freeze({ tcId, comment: asString(o['comment'], `points[${i}].comment`), flags: Object.freeze([...flags]), point });
  });
  return Object.freeze({ source: Object.freeze(source), points: Object.freeze(points) });
}

/** Reads and parses the fixture file. @throws FixtureError; the fs error for an unreadable file. */
export function loadInvalidPointFixture(path: string): InvalidPointFixture {
  return parseInvalidPointFixture(readFileSync(path, 'utf8'));
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FixtureError(`invalid-point fixture: ${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new FixtureError(`invalid-point fixture: ${what} must be a string`);
  return value;
}
