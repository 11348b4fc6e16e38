/**
 * Internal argument checks shared by the apdu modules: TypeError for a wrong type, RangeError for a
 * value out of range, each naming the argument (the project's error convention).
 * @module
 */
import { isBytes } from '@noble/hashes/utils.js';

/** `typeof`, but telling null, arrays and classes apart: for messages about wrong argument types. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  // An object may have no constructor (Object.create(null)), whatever its declared type says.
  if (typeof value === 'object') return (value as { constructor?: { name: string } }).constructor?.name ?? 'object';
  return typeof value;
}

/** An integer in [min, max], else TypeError (not an integer) or RangeError (out of range). */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name}: expected an integer, got ${typeof value === 'number' ? value : describeType(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${name}: expected ${min}..${max}, got ${value}`);
  }
  return value;
}

/** A Uint8Array of at most `maxLength` bytes. */
export function checkBytes(name: string, value: unknown, maxLength = Number.MAX_SAFE_INTEGER): Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${name}: expected Uint8Array, got ${describeType(value)}`);
  if (value.length > maxLength) {
    throw new RangeError(`${name}: expected at most ${maxLength} bytes, got ${value.length}`);
  }
  return value;
}

/** `0x6A82`-style: uppercase hex, zero-padded to `digits`. */
export function hexNumber(value: number, digits: number): string {
  return '0x' + value.toString(16).toUpperCase().padStart(digits, '0');
}
