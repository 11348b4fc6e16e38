/**
 * Protocol TLV faults (section 2) in the two data fields version 2 brought: BACKUP_EXPORT's (certificate,
 * EB, prepare signature), sent to a WALLET card with the access code verified, and BACKUP_IMPORT's
 * (certificate, EP, seal signature, blob), sent to a BACKUP_PENDING card. Each field is right in content and
 * wrong in encoding: 6A80 and nothing changed. Command chaining past 600 bytes is 6A84.
 * @module
 */
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { randomKeyPair } from '../soft-card.js';
import { Ins, Sw, Tag } from '../wire.js';
import { check, CLA, exportRefused, importRefusedRaw, somePeer, type Check, type CheckContext } from './common.js';

type Field = readonly [number, Uint8Array];

/** The shortest DER signature the size rule allows (8 bytes): SEQUENCE { INTEGER 1, INTEGER 1 }. */
const MIN_DER = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01);

const tlv = (tag: number, value: Uint8Array, length?: Uint8Array) =>
  concatBytes(Uint8Array.of(tag), length ?? (value.length < 0x80 ? Uint8Array.of(value.length) : Uint8Array.of(0x81, value.length)), value);

const join = (fields: readonly Field[]) => concatBytes(...fields.map(([t, v]) => tlv(t, v)));

const replace = (fields: readonly Field[], i: number, value: Uint8Array): Field[] =>
  fields.map((f, k) => (k === i ? ([f[0], value] as const) : f));

interface Fault {
  readonly name: string;
  readonly title: string;
  build(f: readonly Field[]): Uint8Array;
}

/** Faults for any field list whose fields are certificate, ephemeral key, signature (and the blob for import). */
function faults(keyName: string, otherRoleTags: readonly [number, number]): Fault[] {
  return [
    { name: 'empty', title: 'no data at all', build: () => new Uint8Array(0) },
    { name: 'truncated', title: 'the last byte cut off', build: (f) => join(f).subarray(0, join(f).length - 1) },
    { name: 'trailing-byte', title: 'one byte after the last field', build: (f) => concatBytes(join(f), Uint8Array.of(0)) },
    {
      name: 'length-overruns',
      title: 'the last length one more than the bytes left',
      build: (f) => {
        const last = f[f.length - 1]!;
        const n = last[1].length + 1;
        return concatBytes(join(f.slice(0, -1)), Uint8Array.of(last[0]), n < 0x80 ? Uint8Array.of(n) : Uint8Array.of(0x81, n), last[1]);
      },
    },
    {
      name: 'non-minimal-length-81',
      title: `${keyName} length as 81 41`,
      build: (f) => concatBytes(tlv(f[0]![0], f[0]![1]), tlv(f[1]![0], f[1]![1], Uint8Array.of(0x81, 0x41)), join(f.slice(2))),
    },
    {
      name: 'non-minimal-length-82',
      title: 'the certificate length as 82 00 LL',
      build: (f) => concatBytes(tlv(f[0]![0], f[0]![1], Uint8Array.of(0x82, 0x00, f[0]![1].length)), join(f.slice(1))),
    },
    {
      name: 'length-83',
      title: 'a length in the 83 form',
      build: (f) => concatBytes(tlv(f[0]![0], f[0]![1], Uint8Array.of(0x83, 0x00, 0x00, f[0]![1].length)), join(f.slice(1))),
    },
    {
      name: 'unknown-tag',
      title: 'an unknown tag 16 between the fields',
      build: (f) => concatBytes(join(f.slice(0, 1)), tlv(0x16, Uint8Array.of(0)), join(f.slice(1))),
    },
    { name: 'tag-00', title: 'a field with tag 00 at the end', build: (f) => concatBytes(join(f), Uint8Array.of(0x00, 0x00)) },
    // The shortest well-sized duplicate (an 8-byte DER signature): BACKUP_IMPORT's data (about 560 bytes with a
    // format 02 certificate) stays under the 600-byte limit, so the answer is about the duplicate, not the size.
    {
      name: 'duplicate-tag',
      title: 'a second, 8-byte signature field after the signature',
      build: (f) => join([f[0]!, f[1]!, f[2]!, [f[2]![0], MIN_DER], ...f.slice(3)]),
    },
    { name: 'missing-tag', title: 'the last field left out', build: (f) => join(f.slice(0, -1)) },
    { name: 'wrong-order', title: `${keyName} before the certificate`, build: (f) => join([f[1]!, f[0]!, ...f.slice(2)]) },
    { name: 'key-64-bytes', title: `a 64-byte ${keyName}`, build: (f) => join(replace(f, 1, f[1]![1].subarray(0, 64))) },
    { name: 'key-66-bytes', title: `a 66-byte ${keyName}`, build: (f) => join(replace(f, 1, concatBytes(f[1]![1], Uint8Array.of(0)))) },
    { name: 'signature-7-bytes', title: 'a 7-byte signature field', build: (f) => join(replace(f, 2, f[2]![1].subarray(0, 7))) },
    {
      name: 'signature-73-bytes',
      title: 'a 73-byte signature field',
      build: (f) => join(replace(f, 2, concatBytes(f[2]![1], new Uint8Array(73 - f[2]![1].length)))),
    },
    {
      name: 'certificate-156-bytes',
      title: 'a 156-byte certificate field (the shortest is 157)',
      build: (f) => join(replace(f, 0, f[0]![1].subarray(0, 156))),
    },
    {
      name: 'certificate-fields-shuffled',
      title: 'a certificate whose card id and version fields are swapped',
      build: (f) => {
        const c = f[0]![1];
        return join(replace(f, 0, concatBytes(c.subarray(3, 13), c.subarray(0, 3), c.subarray(13))));
      },
    },
    {
      name: 'other-role-tags',
      title: `the other role's tags ${otherRoleTags.map((t) => t.toString(16).padStart(2, '0')).join('/')} for the key and signature`,
      build: (f) => join([f[0]!, [otherRoleTags[0], f[1]![1]], [otherRoleTags[1], f[2]![1]], ...f.slice(3)]),
    },
  ];
}

/** BACKUP_EXPORT's fields from a software backup card (certified by the TEST key when the card trusts it). */
function exportFields(ctx: CheckContext): Field[] {
  const o = somePeer(ctx).prepare(randomKeyPair().publicKey);
  return [
    [Tag.CERTIFICATE, o.certificate],
    [Tag.BACKUP_EPHEMERAL_KEY, o.eb],
    [Tag.PREPARE_SIGNATURE, o.signature],
  ];
}

/** BACKUP_IMPORT's fields: a software primary's export sealed to the card's current EB. */
function importFields(ctx: CheckContext, cardId: Uint8Array): Field[] {
  const eb = ctx.dut.known.eb ?? randomKeyPair().publicKey;
  const s = somePeer(ctx).seal(cardId, eb, new Uint8Array(128));
  return [
    [Tag.CERTIFICATE, s.certificate],
    [Tag.PRIMARY_EPHEMERAL_KEY, s.ep],
    [Tag.SEAL_SIGNATURE, s.signature],
    [Tag.WALLET_BLOB, s.blob],
  ];
}

export function tlvChecks(): Check[] {
  const checks: Check[] = [];
  for (const f of faults('EB', [Tag.PRIMARY_EPHEMERAL_KEY, Tag.SEAL_SIGNATURE])) {
    checks.push(
      check(
        {
          id: `tlv/backup-export/${f.name}`,
          title: `BACKUP_EXPORT with ${f.title}: 6A80, nothing changed`,
          category: 'tlv',
          destructive: false,
          needs: ['fresh-card'],
        },
        (ctx, e) => exportRefused(ctx, e, f.build(exportFields(ctx)), Sw.WRONG_DATA),
      ),
    );
  }
  const importFaults: Fault[] = [
    ...faults('EP', [Tag.BACKUP_EPHEMERAL_KEY, Tag.PREPARE_SIGNATURE]),
    { name: 'blob-192-bytes', title: 'a 192-byte blob (15 81 C0)', build: (f) => join(replace(f, 3, f[3]![1].subarray(0, 192))) },
    {
      name: 'blob-194-bytes',
      title: 'a 194-byte blob (15 81 C2)',
      build: (f) => join(replace(f, 3, concatBytes(f[3]![1], Uint8Array.of(0)))),
    },
    {
      name: 'blob-length-82',
      title: 'the blob length as 82 00 C1',
      build: (f) => concatBytes(join(f.slice(0, 3)), tlv(Tag.WALLET_BLOB, f[3]![1], Uint8Array.of(0x82, 0x00, 0xc1))),
    },
  ];
  for (const f of importFaults) {
    checks.push(
      check(
        {
          id: `tlv/backup-import/${f.name}`,
          title: `BACKUP_IMPORT with ${f.title}: 6A80, nothing changed`,
          category: 'tlv',
          destructive: false,
          needs: ['fresh-card'],
        },
        (ctx, e) => importRefusedRaw(ctx, e, (id) => f.build(importFields(ctx, id)), Sw.WRONG_DATA),
      ),
    );
  }
  checks.push(
    check(
      {
        id: 'tlv/chained-over-600',
        title: 'BACKUP_IMPORT chained to 601 bytes (255 + 255 + 91): 6A84, nothing changed',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) =>
        importRefusedRaw(ctx, e, (id) => concatBytes(join(importFields(ctx, id)), randomBytes(100)).subarray(0, 601), Sw.CHAIN_TOO_LONG),
    ),
    check(
      {
        id: 'tlv/chained-600',
        title: 'BACKUP_IMPORT chained to exactly 600 bytes of well-formed fields plus junk: 6A80, not 6A84',
        category: 'tlv',
        destructive: false,
        needs: ['fresh-card'],
      },
      (ctx, e) =>
        importRefusedRaw(
          ctx,
          e,
          (id) => {
            const g = join(importFields(ctx, id));
            return concatBytes(g, new Uint8Array(600 - g.length));
          },
          Sw.WRONG_DATA,
        ),
    ),
    check(
      {
        id: 'tlv/lc-mismatch',
        title: 'READ whose Lc (05) promises more data than follows (2 bytes): 6700, and the card still answers',
        category: 'tlv',
        destructive: false,
        needs: [],
      },
      async ({ dut }, e) => {
        const before = await dut.snapshot();
        dut.recorder.clear();
        e.sw(await dut.raw(Uint8Array.of(CLA, Ins.READ, 0, 0, 0x05, 0x01, 0x02)), Sw.WRONG_LENGTH);
        await e.unchanged(dut, before);
      },
    ),
    check(
      {
        id: 'tlv/chain-then-other-command',
        title: 'a chain block of BACKUP_IMPORT (CLA 90, 9000), then READ: READ answers normally',
        category: 'tlv',
        destructive: false,
        needs: [],
      },
      async ({ dut }, e) => {
        const before = await dut.snapshot();
        dut.recorder.clear();
        e.sw(await dut.raw(concatBytes(Uint8Array.of(0x90, Ins.BACKUP_IMPORT, 0, 0, 16), randomBytes(16))), Sw.OK);
        const after = await dut.snapshot();
        e.that(after.state === before.state, 'READ answers, state unchanged', `state ${after.state}`);
      },
    ),
  );
  return checks;
}
