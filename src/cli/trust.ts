/**
 * Which manufacturer roots a command trusts (docs/protocol.md section 4): the production roots built into
 * the host, every `--root PEM_FILE`, the roots of the config file, and the TEST root ONLY when asked, by
 * `--trust-test-root` or `"trustTestRoot": true` in the config file. So a virtual card never passes as
 * genuine by default.
 *
 * The config file is `$TWINCARD_CONFIG`, else `$XDG_CONFIG_HOME/twincard/config.json`, else
 * `~/.config/twincard/config.json`; absent is fine. It is strict JSON with only these keys:
 *
 *     { "trustTestRoot": false, "roots": ["acme-root.pem"] }
 *
 * (root paths relative to the config file's folder). Any other key or type is an error rather than a
 * silently ignored typo in a security setting.
 * @module
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { equalBytes } from '../protocol/crypto.js';
import { rootFromPem, testManufacturerRoot, trustedRoots, type TrustedRoot } from '../protocol/roots.js';
import type { Argv } from 'yargs';
import { UsageError } from './errors.js';

export interface TrustOptions {
  /** `--trust-test-root`. */
  readonly trustTestRoot?: boolean | undefined;
  /** `--root` files. */
  readonly rootFiles?: readonly string[] | undefined;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The config file's settings. */
export interface TrustConfig {
  readonly path: string;
  readonly trustTestRoot: boolean;
  readonly rootFiles: readonly string[];
}

/**
 * The roots to verify cards against.
 * @throws UsageError for a root file or config file that cannot be read or parsed (naming the file)
 * @example const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
 */
export function loadTrustedRoots(options: TrustOptions = {}): readonly TrustedRoot[] {
  const config = readTrustConfig(options.env ?? process.env);
  const files = [...(config?.rootFiles ?? []), ...(options.rootFiles ?? [])];
  const extra = files.map((file) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--root ${file}: ${(error as Error).message}`);
    }
    try {
      const root = rootFromPem(pem, file);
      // The TEST key stays a test root whichever way it was trusted, so verdicts keep warning about it.
      return equalBytes(root.publicKey, testManufacturerRoot().publicKey)
        ? rootFromPem(pem, `${file} (the TEST manufacturer)`, { test: true })
        : root;
    } catch (error) {
      throw new UsageError(`--root ${file}: ${(error as Error).message}`);
    }
  });
  return trustedRoots({ trustTestRoot: options.trustTestRoot === true || config?.trustTestRoot === true, extra });
}

/** Where the config file is looked for. */
export function trustConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['TWINCARD_CONFIG'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env['XDG_CONFIG_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.config'), 'twincard', 'config.json');
}

/**
 * The config file, undefined when there is none.
 * @throws UsageError for unreadable, non-JSON or unexpected content
 */
export function readTrustConfig(env: NodeJS.ProcessEnv = process.env): TrustConfig | undefined {
  const path = trustConfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`config ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`config ${path}: not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`config ${path}: expected a JSON object`);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'trustTestRoot' && key !== 'roots')
      throw new UsageError(`config ${path}: unknown key ${JSON.stringify(key)} (trustTestRoot, roots)`);
  }
  const trustTestRoot = record['trustTestRoot'] ?? false;
  if (typeof trustTestRoot !== 'boolean') throw new UsageError(`config ${path}: "trustTestRoot" must be true or false`);
  const roots = record['roots'] ?? [];
  if (!Array.isArray(roots) || !roots.every((r): r is string => typeof r === 'string' && r !== '')) {
    throw new UsageError(`config ${path}: "roots" must be a list of PEM file paths`);
  }
  const base = dirname(resolve(path));
  return { path, trustTestRoot, rootFiles: roots.map((r) => (isAbsolute(r) ? r : join(base, r))) };
}

/** The two trust options every command that judges a certificate takes: `--trust-test-root` and `--root PEM`. */
export function withTrustOptions<T>(yargs: Argv<T>): Argv<T> {
  return yargs
    .option('trust-test-root', {
      type: 'boolean',
      default: false,
      describe: 'also trust the TEST manufacturer (virtual cards; its private key is public: proves nothing)',
    })
    .option('root', {
      type: 'string',
      array: true,
      describe: 'also trust this manufacturer public key (PEM SubjectPublicKeyInfo, secp256k1); repeatable',
    });
}
