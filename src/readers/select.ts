/**
 * Which reader the user meant (the apdu4j / GlobalPlatformPro rule): the only reader when none is named; else
 * an exact name, a decimal index, or a case-insensitive fragment matching exactly one reader. Anything else
 * is an error that lists the readers, so the user can pick.
 */
import { ReaderSelectionError } from './errors.js';

export function resolveReader(names: readonly string[], selector?: string | number): string {
  const list = () => (names.length === 0 ? 'no readers' : names.map((n, i) => `  ${i}: ${n}`).join('\n'));
  if (names.length === 0) throw new ReaderSelectionError('no PC/SC reader found: connect one', 'no-reader', names);
  if (selector === undefined || selector === '') {
    if (names.length === 1) return names[0]!;
    throw new ReaderSelectionError(`${names.length} readers: choose one with --reader\n${list()}`, 'ambiguous', names);
  }
  const text = String(selector);
  if (names.includes(text)) return text;
  if (/^\d+$/.test(text)) {
    const byIndex = names[Number(text)];
    if (byIndex !== undefined) return byIndex;
    throw new ReaderSelectionError(`no reader with index ${text}\n${list()}`, 'not-found', names);
  }
  const fragment = text.toLowerCase();
  const matches = names.filter((n) => n.toLowerCase().includes(fragment));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new ReaderSelectionError(`no reader matches ${JSON.stringify(text)}\n${list()}`, 'not-found', names);
  }
  throw new ReaderSelectionError(
    `${matches.length} readers match ${JSON.stringify(text)}: be more specific\n${list()}`,
    'ambiguous',
    names,
  );
}
