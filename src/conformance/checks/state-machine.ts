/**
 * Section 3's table: every command in every state that refuses it answers 6985 and changes nothing, and
 * version 1's backup instructions (50..5E) are 6D00 in every state. The access code is not verified first,
 * so a card that checks it before the state (6982) is caught as well. BACKED_UP is checked twice, as a
 * finalized primary and as a backup card that imported its wallet.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { attestationKey, verifies, type Target } from '../harness.js';
import type { Need } from '../types.js';
import { AID, attestationMessage, Ins, Sw, V1_BACKUP_INS, WRAPPED_ONLY } from '../wire.js';
import { check, CLA, type Check } from './common.js';
import { commandShape, kebab, type ProtocolCommand } from './commands.js';

/** The commands each state refuses (section 3's `·` cells; BACKED_UP split by origin). */
export const REFUSED: Readonly<Record<Target, readonly ProtocolCommand[]>> = {
  FACTORY: [
    'VERIFY_PIN',
    'CREATE_WALLET',
    'SIGN',
    'ATTEST',
    'OPEN_SESSION',
    'CHANGE_ACCESS_CODE',
    'RESET',
    'BACKUP_PREPARE',
    'BACKUP_CANCEL',
    'BACKUP_EXPORT',
    'BACKUP_FINALIZE',
    'BACKUP_IMPORT',
  ],
  BLANK: [
    'VERIFY_PIN',
    'SIGN',
    'CHANGE_ACCESS_CODE',
    'RESET',
    'BACKUP_EXPORT',
    'BACKUP_FINALIZE',
    'BACKUP_IMPORT',
    'PERSO_GENERATE',
    'PERSO_COMMIT',
  ],
  WALLET: ['CREATE_WALLET', 'BACKUP_PREPARE', 'BACKUP_CANCEL', 'BACKUP_FINALIZE', 'BACKUP_IMPORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKUP_EXPORTING: ['CREATE_WALLET', 'RESET', 'BACKUP_PREPARE', 'BACKUP_CANCEL', 'BACKUP_IMPORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKUP_PENDING: [
    'VERIFY_PIN',
    'CREATE_WALLET',
    'SIGN',
    'CHANGE_ACCESS_CODE',
    'RESET',
    'BACKUP_EXPORT',
    'BACKUP_FINALIZE',
    'PERSO_GENERATE',
    'PERSO_COMMIT',
  ],
  BACKED_UP_PRIMARY: [
    'CREATE_WALLET',
    'BACKUP_PREPARE',
    'BACKUP_CANCEL',
    'BACKUP_EXPORT',
    'BACKUP_IMPORT',
    'PERSO_GENERATE',
    'PERSO_COMMIT',
  ],
  BACKED_UP_BACKUP: [
    'CREATE_WALLET',
    'BACKUP_PREPARE',
    'BACKUP_CANCEL',
    'BACKUP_EXPORT',
    'BACKUP_FINALIZE',
    'BACKUP_IMPORT',
    'PERSO_GENERATE',
    'PERSO_COMMIT',
  ],
};

/** What reaching each state takes, for the report. */
const STATE_NEEDS: Readonly<Record<Target, readonly Need[]>> = {
  FACTORY: ['factory-card'],
  BLANK: ['fresh-card'],
  WALLET: ['fresh-card'],
  BACKUP_EXPORTING: ['fresh-card', 'test-manufacturer'],
  BACKUP_PENDING: ['fresh-card'],
  BACKED_UP_PRIMARY: ['fresh-card', 'test-manufacturer'],
  BACKED_UP_BACKUP: ['fresh-card', 'test-manufacturer'],
};

export function stateMachineChecks(): Check[] {
  const checks: Check[] = [];
  for (const [target, commands] of Object.entries(REFUSED) as Array<[Target, readonly ProtocolCommand[]]>) {
    for (const name of commands) {
      const cmd = commandShape(name);
      const other = target === 'BACKED_UP_BACKUP' && name === 'BACKUP_IMPORT' ? ' (a blob other than the one imported)' : '';
      // Section 3's order puts the session (6988) before the state: a FACTORY card can open none, so a
      // wrapped-only command never gets as far as its state check there.
      const want = target === 'FACTORY' && WRAPPED_ONLY.has(cmd.ins) ? Sw.SECURE_MESSAGING : Sw.CONDITIONS_NOT_SATISFIED;
      const how = WRAPPED_ONLY.has(cmd.ins) ? ' (wrapped)' : '';
      checks.push(
        check(
          {
            id: `state/${kebab(target)}/${kebab(name)}`,
            title:
              `${name}${how}${other} in ${target}: ` +
              `${want === Sw.SECURE_MESSAGING ? '6988 (no session can be open)' : '6985'}, nothing changed`,
            category: 'state-machine',
            destructive: false,
            needs: STATE_NEEDS[target],
          },
          async (ctx, e) => {
            const before = await ctx.reach(target);
            const { data, ne } = cmd.build();
            e.sw(await ctx.dut.send(CLA, cmd.ins, data, ne), want);
            await e.unchanged(ctx.dut, before);
          },
        ),
      );
    }
    checks.push(
      check(
        {
          id: `state/${kebab(target)}/v1-backup-ins`,
          title: `version 1's backup INS 50..5E in ${target}: 6D00 each, nothing changed`,
          category: 'state-machine',
          destructive: false,
          needs: STATE_NEEDS[target],
        },
        async (ctx, e) => {
          const before = await ctx.reach(target);
          for (const ins of V1_BACKUP_INS) e.sw(await ctx.dut.send(CLA, ins, randomBytes(8), 256), Sw.INS_NOT_SUPPORTED);
          await e.unchanged(ctx.dut, before);
        },
      ),
    );
  }
  // What every state allows: SELECT and READ, and ATTEST once personalized.
  for (const target of Object.keys(REFUSED) as Target[]) {
    checks.push(
      check(
        {
          id: `state/${kebab(target)}/select-read-attest`,
          title:
            `SELECT and READ in ${target}${target === 'FACTORY' ? '' : ', and ATTEST verifying under the certified attestation key'}: ` +
            `allowed, nothing changed`,
          category: 'state-machine',
          destructive: false,
          needs: STATE_NEEDS[target],
        },
        async (ctx, e) => {
          const before = await ctx.reach(target);
          const r = await ctx.dut.send(0x00, Ins.SELECT, AID, 256, 0x04, 0x00);
          e.sw(r, Sw.OK);
          e.sw(await ctx.dut.send(CLA, Ins.READ, undefined, 256), Sw.OK);
          if (target !== 'FACTORY') {
            const challenge = randomBytes(24);
            const a = await ctx.dut.send(CLA, Ins.ATTEST, challenge, 256);
            e.sw(a, Sw.OK);
            const ok =
              a.data[0] === 0x0b &&
              a.data[1] === a.data.length - 2 &&
              verifies(a.data.subarray(2), attestationMessage(before.cardId!, challenge), attestationKey(before));
            e.that(ok, 'ATTEST signature verifies', 'ATTEST answer malformed or not verifying');
          }
          await e.unchanged(ctx.dut, before);
        },
      ),
    );
  }
  return checks;
}
