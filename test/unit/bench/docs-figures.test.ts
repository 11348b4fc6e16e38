/**
 * The wire APDU counts that docs/benchmarks.md section 2 states (per step and per backup, for 1+1 and 1+2)
 * against the recorded protocol v2 backup in test/unit/flow/transcripts/backup-1-2/ (real card sessions
 * through pcscd, test/record/backup-transcripts.ts): how many wire APDUs each command took there (chain blocks
 * and GET RESPONSEs included), summed over the commands of each step (docs/protocol.md section 7, plus the READ
 * that ends the primary's tap). A bench run that measured other counts, or a protocol change that moves them,
 * makes the doc disagree with the recording and fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INS_GET_RESPONSE } from '../../../src/apdu/index.js';
import { Ins } from '../../../src/protocol/constants.js';
import { parseTranscript } from '../../../src/readers/index.js';

const DIR = fileURLToPath(new URL('../flow/transcripts/backup-1-2/', import.meta.url));
const DOC = readFileSync(join(process.cwd(), 'docs', 'benchmarks.md'), 'utf8');

type Cost = readonly [commands: number, chainBlocks: number, getResponses: number];

/**
 * Per command of the recorded backup, its wire APDUs. A READ is kept apart for the primary (its certificate and
 * wallet key make the answer over 256 bytes) and a backup card. A command must cost the same each time.
 */
function recordedCosts(): Map<string, Cost> {
  const names = new Map<number, string>(Object.entries(Ins).map(([name, ins]) => [ins, name]));
  const costs = new Map<string, Cost>();
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('-used.apdu'))) {
    const seen: { key: string; cost: [number, number, number] }[] = [];
    let blocks = 0;
    for (const { command } of parseTranscript(readFileSync(join(DIR, file), 'utf8'))) {
      const cla = parseInt(command.slice(0, 2), 16);
      const ins = parseInt(command.slice(2, 4), 16);
      if (ins === INS_GET_RESPONSE) {
        const last = seen.at(-1);
        if (last === undefined) throw new Error(`${file}: a GET RESPONSE before any command`);
        last.cost[2]++;
      } else if ((cla & 0x10) !== 0) {
        blocks++; // command chaining: a block before the command's last
      } else {
        const name = names.get(ins);
        if (name === undefined) throw new Error(`${file}: INS ${ins.toString(16)} is no command of the protocol`);
        const key = name === 'READ' ? `READ ${/-card0-/.test(file) ? 'primary' : 'backup'}` : name;
        seen.push({ key, cost: [1, blocks, 0] });
        blocks = 0;
      }
    }
    for (const { key, cost } of seen) {
      const known = costs.get(key);
      if (known !== undefined && known.join() !== cost.join())
        throw new Error(`${key} took ${cost.join()} wire APDUs in ${file}, ${known.join()} before`);
      costs.set(key, cost);
    }
  }
  return costs;
}

/** The commands of each step (docs/protocol.md section 7; export-primary ends with a READ: backup-flow.md section 1). */
function stepCommands(step: string, backups: 1 | 2): string[] {
  if (step.startsWith('prepare-backup-')) return ['SELECT', 'READ backup', 'BACKUP_PREPARE'];
  if (step.startsWith('import-')) return ['SELECT', 'READ backup', 'BACKUP_IMPORT'];
  if (step === 'export-primary') {
    const exports: string[] = Array.from({ length: backups }, () => 'BACKUP_EXPORT');
    return ['SELECT', 'READ primary', 'OPEN_SESSION', 'VERIFY_PIN', ...exports, 'BACKUP_FINALIZE', 'READ primary'];
  }
  throw new Error(`no step ${step}`);
}

/** The rows of the step table after the line `1+1:` or `1+2:` in docs/benchmarks.md: step -> wire APDUs column. */
function documentedSteps(kind: '1+1' | '1+2'): Map<string, number> {
  const lines = DOC.split('\n');
  const start = lines.indexOf(`${kind}:`);
  if (start < 0) throw new Error(`docs/benchmarks.md has no "${kind}:" step table`);
  const header = lines[start + 2]!.split('|').map((c) => c.trim());
  const column = header.indexOf('wire APDUs');
  if (column < 0) throw new Error(`docs/benchmarks.md: the ${kind} step table has no "wire APDUs" column`);
  const rows = new Map<string, number>();
  for (const line of lines.slice(start + 4)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.set(cells[1]!, Number(cells[column]));
  }
  return rows;
}

const costs = recordedCosts();
const sum = (names: readonly string[]): Cost =>
  names.reduce<Cost>(
    (a, name) => {
      const c = costs.get(name);
      if (c === undefined) throw new Error(`the recording has no ${name}`);
      return [a[0] + c[0], a[1] + c[1], a[2] + c[2]];
    },
    [0, 0, 0],
  );

describe.each([
  ['1+1', 1, ['prepare-backup-1', 'export-primary', 'import-1']],
  ['1+2', 2, ['prepare-backup-1', 'prepare-backup-2', 'export-primary', 'import-1', 'import-2']],
] as const)('docs/benchmarks.md, the %s backup', (kind, backups, steps) => {
  test('each step has the wire APDUs of its commands in the recorded backup', () => {
    const documented = documentedSteps(kind);
    expect([...documented.keys()]).toEqual(steps);
    for (const step of steps) {
      const [commands, blocks, getResponses] = sum(stepCommands(step, backups));
      expect({ step, apdus: documented.get(step) }).toEqual({ step, apdus: commands + blocks + getResponses });
    }
  });

  test('the backup total (commands + chain blocks + GET RESPONSE) is the sum over its steps', () => {
    const [commands, blocks, getResponses] = sum(steps.flatMap((step) => stepCommands(step, backups)));
    const row = DOC.split('\n').find((l) => l.startsWith('| wire APDUs (commands + chain blocks + GET RESPONSE) |'));
    if (row === undefined) throw new Error('docs/benchmarks.md has no "wire APDUs" row');
    const cell = row.split('|')[kind === '1+1' ? 2 : 3]!.trim();
    expect(cell).toBe(`${commands + blocks + getResponses} (${commands} + ${blocks} + ${getResponses})`);
  });
});
