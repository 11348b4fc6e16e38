/**
 * The whole suite in the order it runs: checks that need the same card state are next to each other, and
 * the states follow the protocol's own paths (FACTORY, BLANK, linked and imported as a backup card; then a
 * new card as a wallet, a primary, finalized), so a card that cannot be reset goes as far as it can and
 * the suite sets a card up as few times as possible.
 * @module
 */
import type { Check } from './checks/common.js';
import { abortChecks } from './checks/abort.js';
import { basicChecks } from './checks/basic.js';
import { blobChecks } from './checks/blob.js';
import { linkingChecks } from './checks/linking.js';
import { peerChecks } from './checks/peer.js';
import { persoChecks } from './checks/perso.js';
import { stateMachineChecks } from './checks/state-machine.js';
import { tlvChecks } from './checks/tlv.js';
import { walletChecks } from './checks/wallet.js';
import type { CheckInfo } from './types.js';
import type { InvalidPoint } from './wycheproof.js';

/** Where each check goes: the first pattern it matches decides its place. */
const ORDER: readonly string[] = [
  'select/', 'read/', 'header/cla', 'header/ins', 'header/order-cla', 'header/order-ins', 'header/order-p1p2', 'header/p1p2/', 'tlv/lc-mismatch', 'tlv/chain-then-other-command',
  'state/factory/', 'perso/commit-before-generate', 'perso/generate-id-length', 'perso/generate-again', 'perso/commit-', 'perso/answer', 'attest/',
  'state/blank/', 'header/order-state-before-data', 'create-wallet/pin-length', 'tlv/link-primary/', 'tlv/chained', 'link-primary/untrusted', 'link-primary/tampered', 'link-primary/same-card',
  'link-primary/substituted', 'link-primary/attest', 'link-primary/certificate', 'link-primary/backup-link', 'link-primary/signature-by',
  'invalid-point/link-primary-ep/', 'invalid-point/certificate-key/',
  'link-primary/answer', 'link-primary/retry', 'state/backup-linked/', 'import/tampered', 'import/header', 'import/other', 'import/misdirected',
  'import/replayed', 'import/truncated', 'import/over-long', 'import/wrong-tag', 'import/non-minimal-length', 'import/blob-invalid/', 'import/answer',
  'state/backed-up-backup/', 'import/retry', 'import/second-blob', 'attack/backup-of-a-backup',
  'create-wallet/answer', 'state/wallet/', 'sign/', 'verify-pin/length', 'verify-pin/wrong', 'verify-pin/cleared', 'backup-start/without-pin',
  'backup-start/data-refused', 'link-primary/overwrite-wallet', 'backup-abort/in-wallet',
  'backup-start/answer', 'backup-start/retry', 'state/backup-primary/', 'backup-abort/without-pin', 'backup-abort/data-refused', 'link-backup/without-pin', 'link-backup/untrusted', 'link-backup/same-card',
  'link-backup/swapped', 'link-backup/replayed', 'link-backup/other-primary', 'link-backup/attest', 'link-backup/primary-link',
  'invalid-point/link-backup-eb/', 'tlv/link-backup/', 'export/without-pin', 'finalize/without-pin', 'export/not-linked', 'export/id-length', 'finalize/nothing-linked',
  'link-backup/answer', 'finalize/relinked-not-exported', 'backup-abort/answer', 'backup-abort/after-export', 'export/answer',
  'state/backed-up-primary/', 'finalize/retry', 'attack/second-backup-after-finalize',
  'verify-pin/brute-force',
  'peer/',
];

/** Every check, in running order. @param invalidPoints the Wycheproof fixture's points */
export function buildSuite(invalidPoints: readonly InvalidPoint[]): Check[] {
  const all = [
    ...basicChecks(),
    ...stateMachineChecks(),
    ...persoChecks(invalidPoints),
    ...walletChecks(),
    ...tlvChecks(),
    ...linkingChecks(invalidPoints),
    ...blobChecks(),
    ...abortChecks(),
    ...peerChecks(),
  ];
  const ids = new Set<string>();
  for (const c of all) {
    if (ids.has(c.id)) throw new Error(`conformance suite: duplicate check id ${c.id}`);
    if (!/^[a-z0-9]+(-[a-z0-9]+)*(\/[a-z0-9]+(-[a-z0-9]+)*)+$/.test(c.id)) throw new Error(`conformance suite: check id ${c.id} is not kebab-case/kebab-case`);
    ids.add(c.id);
  }
  const rank = (id: string) => {
    const i = ORDER.findIndex((prefix) => id.startsWith(prefix));
    if (i < 0) throw new Error(`conformance suite: check ${id} has no place in the running order`);
    return i;
  };
  // Array.prototype.sort is stable: within one place, checks keep the order their module gave them.
  return all.map((c) => ({ c, r: rank(c.id) })).sort((a, b) => a.r - b.r).map(({ c }) => c);
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
  return only.split(',').map((p) => p.trim()).filter((p) => p !== '').some((pattern) => {
    if (!pattern.includes('*')) return id.startsWith(pattern);
    const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return re.test(id);
  });
}
