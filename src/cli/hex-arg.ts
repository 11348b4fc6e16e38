/** Hex command-line arguments of a fixed size: a typo is a usage error naming the option, before any card is touched. */
import { fromHex } from '../apdu/index.js';
import { UsageError } from './errors.js';

/**
 * @param option the flag, for the message (`--digest`)
 * @param bytes the exact byte count wanted
 * @throws UsageError
 * @example hexArgument('--card-id', '0102030405060708', 8)
 */
export function hexArgument(option: string, text: string, bytes: number): Uint8Array {
  let value: Uint8Array;
  try {
    value = fromHex(text);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
  if (value.length !== bytes) throw new UsageError(`${option}: expected ${bytes} bytes (${bytes * 2} hex digits), got ${value.length}`);
  return value;
}
