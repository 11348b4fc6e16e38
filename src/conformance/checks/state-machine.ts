/**
 * Section 3's table: every command in every state that refuses it answers 6985 and changes nothing. The
 * access code is not verified first, so a card that checks it before the state (6982) is caught as well.
 * BACKED_UP is checked twice, as a finalized primary and as a backup card that imported its wallet.
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { parseCertificate } from '../../protocol/certificate.js';
import { Ins, IsoSw, TWINCARD_AID } from '../../protocol/constants.js';
import { verifyMessageSignature } from '../../protocol/crypto.js';
import { attestationMessage } from '../../protocol/messages.js';
import type { Target } from '../harness.js';
import type { Need } from '../types.js';
import { check, CLA, type Check } from './common.js';
import { commandShape, kebab, type ProtocolCommand } from './commands.js';

/** The commands each state refuses (section 3's `·` cells). */
export const REFUSED: Readonly<Record<Target, readonly ProtocolCommand[]>> = {
  FACTORY: ['VERIFY_PIN', 'CREATE_WALLET', 'SIGN', 'ATTEST', 'BACKUP_START', 'LINK_PRIMARY', 'LINK_BACKUP', 'EXPORT_WALLET', 'FINALIZE_BACKUP', 'IMPORT_WALLET', 'BACKUP_ABORT'],
  BLANK: ['VERIFY_PIN', 'SIGN', 'BACKUP_START', 'LINK_BACKUP', 'EXPORT_WALLET', 'FINALIZE_BACKUP', 'IMPORT_WALLET', 'BACKUP_ABORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  WALLET: ['CREATE_WALLET', 'LINK_PRIMARY', 'LINK_BACKUP', 'EXPORT_WALLET', 'FINALIZE_BACKUP', 'IMPORT_WALLET', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKUP_PRIMARY: ['CREATE_WALLET', 'LINK_PRIMARY', 'IMPORT_WALLET', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKUP_LINKED: ['VERIFY_PIN', 'CREATE_WALLET', 'SIGN', 'BACKUP_START', 'LINK_BACKUP', 'EXPORT_WALLET', 'FINALIZE_BACKUP', 'BACKUP_ABORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKED_UP_PRIMARY: ['CREATE_WALLET', 'BACKUP_START', 'LINK_PRIMARY', 'LINK_BACKUP', 'EXPORT_WALLET', 'IMPORT_WALLET', 'BACKUP_ABORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
  BACKED_UP_BACKUP: ['CREATE_WALLET', 'BACKUP_START', 'LINK_PRIMARY', 'LINK_BACKUP', 'EXPORT_WALLET', 'FINALIZE_BACKUP', 'IMPORT_WALLET', 'BACKUP_ABORT', 'PERSO_GENERATE', 'PERSO_COMMIT'],
};

/** What reaching each state takes, for the report. */
export const STATE_NEEDS: Readonly<Record<Target, readonly Need[]>> = {
  FACTORY: ['factory-card'],
  BLANK: ['fresh-card'],
  WALLET: ['fresh-card'],
  BACKUP_PRIMARY: ['fresh-card'],
  BACKUP_LINKED: ['fresh-card', 'test-manufacturer'],
  BACKED_UP_PRIMARY: ['fresh-card', 'test-manufacturer'],
  BACKED_UP_BACKUP: ['fresh-card', 'test-manufacturer'],
};

export function stateMachineChecks(): Check[] {
  const checks: Check[] = [];
  for (const [target, commands] of Object.entries(REFUSED) as Array<[Target, readonly ProtocolCommand[]]>) {
    for (const name of commands) {
      const cmd = commandShape(name);
      const other = target === 'BACKED_UP_BACKUP' && name === 'IMPORT_WALLET' ? ' (a blob other than the one imported)' : '';
      checks.push(
        check(
          {
            id: `state/${kebab(target)}/${kebab(name)}`,
            title: `${name}${other} in ${target}: 6985, nothing changed`,
            category: 'state-machine',
            destructive: false,
            needs: STATE_NEEDS[target],
          },
          async (ctx, e) => {
            const before = await ctx.reach(target);
            const { data, ne } = cmd.build();
            e.sw(await ctx.dut.send(CLA, cmd.ins, data, ne), IsoSw.CONDITIONS_NOT_SATISFIED);
            await e.unchanged(ctx.dut, before);
          },
        ),
      );
    }
  }
  // What every state allows: SELECT and READ, and ATTEST once personalized.
  for (const target of Object.keys(REFUSED) as Target[]) {
    checks.push(
      check(
        {
          id: `state/${kebab(target)}/select-read-attest`,
          title: `SELECT and READ in ${target}${target === 'FACTORY' ? '' : ', and ATTEST verifying under the certified key'}: allowed, nothing changed`,
          category: 'state-machine',
          destructive: false,
          needs: STATE_NEEDS[target],
        },
        async (ctx, e) => {
          const before = await ctx.reach(target);
          const r = await ctx.dut.send(0x00, Ins.SELECT, TWINCARD_AID, 256, 0x04, 0x00);
          e.sw(r, IsoSw.OK);
          e.sw(await ctx.dut.send(CLA, Ins.READ, undefined, 256), IsoSw.OK);
          if (target !== 'FACTORY') {
            const challenge = randomBytes(24);
            const a = await ctx.dut.send(CLA, Ins.ATTEST, challenge, 256);
            e.sw(a, IsoSw.OK);
            let ok = false;
            try {
              const key = parseCertificate(before.certificate!).identityPublicKey;
              ok = a.data[0] === 0x0b && verifyMessageSignature(a.data.subarray(2), attestationMessage(before.cardId!, challenge), key);
            } catch {
              ok = false;
            }
            e.that(ok, 'ATTEST signature verifies', 'ATTEST answer malformed or not verifying');
          }
          await e.unchanged(ctx.dut, before);
        },
      ),
    );
  }
  return checks;
}
