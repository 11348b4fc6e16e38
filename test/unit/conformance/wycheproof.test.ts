/**
 * The Wycheproof invalid-point fixture: the committed file parses, every point in it is really invalid on
 * secp256k1, and a damaged fixture is refused with a named fault rather than silently testing less.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { toHex } from '../../../src/apdu/index.js';
import { FixtureError, loadInvalidPointFixture, parseInvalidPointFixture } from '../../../src/conformance/index.js';
import { isValidPublicKey } from '../../../src/protocol/crypto.js';

const PATH = join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json');
const text = readFileSync(PATH, 'utf8');
const doc = JSON.parse(text) as { source: Record<string, string>; points: Array<Record<string, unknown>> };

test('the committed fixture: 24 invalid uncompressed points from Wycheproof ecdh_secp256k1_test.json, source named', () => {
  const fixture = loadInvalidPointFixture(PATH);
  expect(fixture.source.repository).toBe('https://github.com/C2SP/wycheproof');
  expect(fixture.source.path).toBe('testvectors_v1/ecdh_secp256k1_test.json');
  expect(fixture.source.commit).toMatch(/^[0-9a-f]{40}$/);
  expect(fixture.points).toHaveLength(24);
  for (const p of fixture.points) {
    expect(p.point).toHaveLength(65);
    expect(p.point[0]).toBe(0x04);
    expect(isValidPublicKey(p.point)).toBe(false);
    // And independently of the project's own check: noble refuses it too.
    expect(() => secp256k1.Point.fromBytes(p.point).assertValidity()).toThrow();
  }
  expect(fixture.points.map((p) => p.tcId)).toEqual(expect.arrayContaining([475, 490, 494, 495, 513, 527]));
  expect(fixture.points.find((p) => p.tcId === 513)?.flags).toEqual(['WrongCurve']);
});

function mutated(change: (d: typeof doc) => void): string {
  const copy = JSON.parse(text) as typeof doc;
  change(copy);
  return JSON.stringify(copy);
}

test.each([
  ['not JSON', '{"source": ', /not JSON/],
  ['no source', mutated((d) => delete (d as Partial<typeof doc>).source), /source must be an object/],
  ['no points', mutated((d) => (d.points = [])), /non-empty array/],
  ['a duplicate tcId', mutated((d) => d.points.push({ ...d.points[0]! })), /duplicate tcId 475/],
  [
    'a compressed point',
    mutated((d) => (d.points[0]!['point'] = '02' + (d.points[0]!['point'] as string).slice(2))),
    /65 bytes of hex starting 04/,
  ],
  ['a short point', mutated((d) => (d.points[0]!['point'] = (d.points[0]!['point'] as string).slice(0, 128))), /65 bytes of hex/],
  ['a tcId that is not a number', mutated((d) => (d.points[0]!['tcId'] = '475')), /tcId must be a positive integer/],
  ['flags that are not strings', mutated((d) => (d.points[0]!['flags'] = [1])), /flags must be an array of strings/],
  [
    'a VALID point (the generator)',
    mutated((d) => (d.points[0]!['point'] = toHex(secp256k1.Point.BASE.toBytes(false)))),
    /tcId 475 is a VALID secp256k1 point/,
  ],
] as const)('refuses a fixture with %s', (_what, input, message) => {
  expect(() => parseInvalidPointFixture(input)).toThrow(FixtureError);
  expect(() => parseInvalidPointFixture(input)).toThrow(message);
});
