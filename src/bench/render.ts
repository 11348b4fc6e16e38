/**
 * Human-readable tables of bench results, as lines (the CLI and bench/ scripts print them on stderr).
 * @module
 */
import type { Summary } from './stats.js';
import type { BenchReport, StepSummary } from './run-bench.js';

/** `12.3` for ms, 1 decimal. */
export function ms(value: number): string {
  return value.toFixed(1);
}

/** Left-aligned first column, right-aligned others, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** `median/p95` of counts, or the value alone when every sample was the same. */
function spread(s: Summary): string {
  return s.min === s.max ? String(s.median) : `${s.median}/${s.p95}`;
}

/** The per-step table: the step's time and its phases (medians), then its wire counts as `count` shows them. */
export function stepTable(
  steps: readonly StepSummary[],
  count: (s: Summary) => string,
  countHeaders: readonly [string, string, string],
): string[] {
  return table([
    ['step', 'median', 'p95', 'connect', 'APDUs ms', 'host', 'after', 'release', ...countHeaders],
    ...steps.map((s) => [
      s.step,
      ms(s.ms.median),
      ms(s.ms.p95),
      ms(s.connectMs.median),
      ms(s.transmitMs.median),
      ms(s.hostBetweenApdusMs.median),
      ms(s.afterApdusMs.median),
      ms(s.releaseMs.median),
      count(s.apdus),
      count(s.bytesOut),
      count(s.bytesIn),
    ]),
  ]);
}

/** The bench report as lines: per step, then per backup, then throughput. */
export function renderBench(report: BenchReport): string[] {
  const { summary } = report;
  const lines: string[] = [];
  lines.push(
    `bench: ${report.pairs} group(s) of ${report.backupCount + 1} readers in ` +
      `parallel, ${report.rounds} round(s), 1+${report.backupCount} backups`,
  );
  report.groups.forEach((g, i) => lines.push(`  group ${i + 1}: ${g.join(' | ')}`));
  if (summary.steps.length > 0) {
    lines.push('', '(ms: median, and p95 of the step; its phases are medians. Counts that varied: median/p95)');
    lines.push(...stepTable(summary.steps, spread, ['APDUs', 'bytes out', 'bytes in']));
    lines.push(
      '  connect: to the card, until its first APDU; host: between APDUs (checks, checkpoint); ' +
        'after: the last answer checked and the journal saved (fsync); release: disconnect + reset',
    );
  }
  lines.push('');
  if (summary.wallMs !== null) {
    lines.push(
      `backup wall time     median ${ms(summary.wallMs.median)} ms, p95 ${ms(summary.wallMs.p95)} ` +
        `ms (min ${ms(summary.wallMs.min)}, max ${ms(summary.wallMs.max)})`,
    );
    lines.push(
      `APDUs per backup     ${spread(summary.apdus!)} (${spread(summary.commands!)} commands, ` +
        `${spread(summary.chainBlocks!)} chain blocks, ${spread(summary.getResponses!)} GET RESPONSE); ` +
        `bytes out ${spread(summary.bytesOut!)}, in ${spread(summary.bytesIn!)}`,
    );
    lines.push(`time inside APDUs    median ${ms(summary.transmitMs!.median)} ms per backup`);
  }
  if (summary.hostCpuMs !== null) {
    lines.push(
      `host CPU per backup  median ${ms(summary.hostCpuMs.median)} ms (of which host crypto ${ms(summary.hostCryptoCpuMs!.median)} ms)` +
        (report.pairs > 1 ? ', shared process: round CPU / backups' : ''),
    );
  }
  lines.push(
    `throughput           ${summary.throughput.toFixed(2)} backups/s (${summary.succeeded} ok, ` +
      `${summary.failed} failed, of ${summary.attempted}; ${summary.backupSeconds.toFixed(2)} s of backups)`,
  );
  for (const f of report.failures) {
    lines.push(`FAILED round ${f.round + 1} group ${f.group + 1} ${f.phase}${f.step !== undefined ? ` at ${f.step}` : ''}: ${f.error}`);
  }
  return lines;
}
