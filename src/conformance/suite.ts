/**
 * The whole suite in the order it runs: checks that need the same card state are next to each other, and
 * the states follow the protocol's own paths (FACTORY, BLANK, pending and imported as a backup card; then a
 * new card as a wallet, an exporting primary, finalized), so a card that cannot be reset goes as far as it
 * can and the suite sets a card up as few times as possible.
 * @module
 */
import type { Check } from './checks/common.js';
import { accessChecks } from './checks/access.js';
import { basicChecks } from './checks/basic.js';
import { exportChecks } from './checks/export.js';
import { importChecks } from './checks/import.js';
import { peerChecks } from './checks/peer.js';
import { persoChecks } from './checks/perso.js';
import { prepareChecks } from './checks/prepare.js';
import { sessionChecks } from './checks/session.js';
import { stateMachineChecks } from './checks/state-machine.js';
import { tlvChecks } from './checks/tlv.js';
import { walletChecks } from './checks/wallet.js';
import type { CheckInfo } from './types.js';
import type { InvalidPoint } from './wycheproof.js';

/** Where each check goes: the first pattern it matches decides its place. */
const ORDER: readonly string[] = [
  'select/',
  'read/',
  'header/cla',
  'header/ins',
  'header/order-cla',
  'header/order-ins',
  'header/order-p1p2',
  'header/p1p2/',
  'tlv/lc-mismatch',
  'tlv/chain-then-other-command',
  'state/factory/',
  'perso/commit-before-generate',
  'perso/generate-id-length',
  'perso/generate-again',
  'perso/commit-',
  'perso/answer',
  'attest/',
  'order/session/form-before-session',
  'session/open/answer',
  'session/open/length',
  // the card as a backup card
  'state/blank/',
  'order/session/form-before-state',
  'order/session/session-before-state',
  'header/order-state-before-data',
  'create-wallet/pin-length',
  'prepare/data-refused',
  'cancel/in-blank',
  'prepare/answer',
  'prepare/retry',
  'state/backup-pending/',
  'cancel/data-refused',
  'tlv/backup-import/',
  'tlv/chained',
  'import/untrusted',
  'import/tampered-certificate',
  'import/same-card',
  'import/header',
  'import/other',
  'import/stale-eb',
  'import/seal-',
  'import/tampered-',
  'import/blob-for',
  'import/blob-invalid/',
  'order/import/',
  'invalid-point/import-ep/',
  'cancel/answer',
  'import/answer',
  'state/backed-up-backup/',
  'import/retry',
  'import/second-blob',
  'invariant/i5',
  // the card as the primary
  'create-wallet/answer',
  'state/wallet/',
  'sign/',
  'session/',
  'order/session/',
  'change-code/',
  'reset/wrong-code',
  'reset/code-length',
  'verify-pin/length',
  'verify-pin/wrong',
  'verify-pin/cleared',
  'export/without-pin',
  'finalize/in-wallet',
  'tlv/backup-export/',
  'export/untrusted',
  'export/tampered',
  'export/same-card',
  'export/prepare-',
  'order/export/pin',
  'order/export/format',
  'order/export/point-before-certificate',
  'order/export/certificate',
  'invalid-point/export-eb/',
  'invalid-point/certificate-key/',
  'export/answer',
  'state/backup-exporting/',
  'export/to-recorded-card',
  'finalize/without-pin',
  'invariant/i2-exporting',
  'export/second-card',
  'export/third-card',
  'export/recorded-card-when-full',
  'order/export/signature-before-count',
  'order/export/point-before-count',
  'finalize/answer',
  'state/backed-up-primary/',
  'finalize/retry',
  'finalize/export-after',
  'invariant/i2-backed-up',
  'reset/backed-up-primary',
  'reset/wallet',
  'reset/backed-up-backup',
  'verify-pin/brute-force',
  'peer/',
];

/** Every check, in running order. @param invalidPoints the Wycheproof fixture's points */
export function buildSuite(invalidPoints: readonly InvalidPoint[]): Check[] {
  const all = [
    ...basicChecks(),
    ...stateMachineChecks(),
    ...persoChecks(),
    ...walletChecks(),
    ...tlvChecks(),
    ...prepareChecks(),
    ...importChecks(invalidPoints),
    ...exportChecks(invalidPoints),
    ...sessionChecks(invalidPoints),
    ...accessChecks(),
    ...peerChecks(),
  ];
  const ids = new Set<string>();
  for (const c of all) {
    if (ids.has(c.id)) throw new Error(`conformance suite: duplicate check id ${c.id}`);
    if (!/^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/.test(c.id))
      throw new Error(`conformance suite: check id ${c.id} is not kebab-case/kebab-case`);
    ids.add(c.id);
  }
  const rank = (id: string) => {
    const i = ORDER.findIndex((prefix) => id.startsWith(prefix));
    if (i < 0) throw new Error(`conformance suite: check ${id} has no place in the running order`);
    return i;
  };
  // Array.prototype.sort is stable: within one place, checks keep the order their module gave them.
  return all
    .map((c) => ({ c, r: rank(c.id) }))
    .sort((a, b) => a.r - b.r)
    .map(({ c }) => c);
}

/** The catalogue: what `twincard conformance --list` prints and docs/conformance.md lists. */
export function listChecks(invalidPoints: readonly InvalidPoint[]): CheckInfo[] {
  return buildSuite(invalidPoints).map(({ id, title, category, destructive, needs }) => ({ id, title, category, destructive, needs }));
}

/**
 * Whether a check id matches `--only`: comma-separated patterns, `*` matches any run of characters, and a
 * pattern without `*` matches ids that start with it (`import/` selects every import check).
 */
export function matchesOnly(id: string, only: string | undefined): boolean {
  if (only === undefined || only.trim() === '') return true;
  return only
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .some((pattern) => {
      if (!pattern.includes('*')) return id.startsWith(pattern);
      const re = new RegExp(
        '^' +
          pattern
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*') +
          '$',
      );
      return re.test(id);
    });
}
