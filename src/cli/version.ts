/**
 * `twincard --version` (`-V`): the package version, read from the package.json this CLI runs from (no copy
 * to keep in step), and the card protocol version the host speaks.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import { packageRoot } from './paths.js';

/** The --json document of `twincard --version`. */
export interface VersionDocument {
  readonly name: 'twincard';
  /** package.json's version. */
  readonly version: string;
  /** The twincard card protocol this host speaks (docs/protocol.md). */
  readonly protocol: number;
}

/**
 * @param manifestPath package.json to read (default: the one of the package this module is in)
 * @throws Error naming the file when it has no version string (a broken install)
 */
export function versionDocument(manifestPath: string = join(packageRoot(), 'package.json')): VersionDocument {
  const manifest: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const version = typeof manifest === 'object' && manifest !== null ? (manifest as { version?: unknown }).version : undefined;
  if (typeof version !== 'string' || version === '') throw new Error(`${manifestPath}: no "version" string`);
  return { name: 'twincard', version, protocol: PROTOCOL_VERSION };
}

/** The plain line: `twincard 0.1.0 (card protocol 2)`. */
export function describeVersion(doc: VersionDocument): string {
  return `${doc.name} ${doc.version} (card protocol ${doc.protocol})`;
}
