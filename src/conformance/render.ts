/**
 * The report for people (a pass/fail table) and for programs (one JSON document). Pure: returns strings.
 * @module
 */
import type { CheckInfo, CheckResult, ConformanceReport } from './types.js';

const LABEL: Record<CheckResult['status'], string> = { pass: 'PASS', fail: 'FAIL', 'not-applicable': 'N/A ' };

/**
 * The table: one line per check (result, id, and for a failure what was expected and what came back,
 * with the APDUs sent), then the summary line.
 */
export function renderTable(report: ConformanceReport, options: { verbose?: boolean } = {}): string {
  const width = Math.max(10, ...report.results.map((r) => r.id.length));
  return [...report.results.map((r) => renderResult(r, { ...options, width })), summaryLine(report)].join('\n');
}

/** One check's lines of the table (the CLI prints them as each check ends). */
export function renderResult(r: CheckResult, options: { verbose?: boolean; width?: number } = {}): string {
  const lines: string[] = [];
  const extra = r.status === 'not-applicable' && options.verbose === true ? `  (${r.actual})` : '';
  lines.push(`${LABEL[r.status]}  ${r.id.padEnd(options.width ?? 0)}${r.destructive ? '  [destructive]' : ''}${extra}`);
  if (r.status === 'fail') {
    lines.push(`        expected: ${r.expected}`);
    lines.push(`        actual:   ${r.actual}`);
    for (const x of r.sent) lines.push(`        >> ${x.command}  << ${x.sw}${x.responseBytes > 0 ? ` (${x.responseBytes} bytes)` : ''}`);
  }
  return lines.join('\n');
}

export function summaryLine(report: ConformanceReport): string {
  const s = report.summary;
  return (
    `${s.total} checks: ${s.passed} passed, ${s.failed} failed, ${s.notApplicable} ` +
    `not applicable (${(report.durationMs / 1000).toFixed(1)} s)`
  );
}

/** The `--json` document: the report with a format version and the verdict. */
export function reportDocument(report: ConformanceReport): Record<string, unknown> {
  return {
    format: 'twincard-conformance/1',
    conforms: report.summary.failed === 0,
    reader: report.reader,
    peerReader: report.peerReader,
    destructive: report.destructive,
    testManufacturer: report.testManufacturer,
    summary: report.summary,
    durationMs: Math.round(report.durationMs),
    results: report.results.map((r) => ({ ...r, durationMs: Math.round(r.durationMs * 10) / 10 })),
  };
}

/** `--list`: id, destructive flag, needs, title; one line each. */
export function renderList(checks: readonly CheckInfo[]): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  return checks
    .map((c) => `${c.id.padEnd(width)}  ${c.destructive ? 'D' : '-'}  ${(c.needs.join(',') || '-').padEnd(38)}  ${c.title}`)
    .join('\n');
}

/** docs/conformance-checks.md, whole: the list of {@link renderList} with its heading and totals. */
export function renderChecksDocument(checks: readonly CheckInfo[]): string {
  return [
    '# The conformance checks',
    '',
    'Every check of `twincard conformance` in the order it runs: id, `D` = destructive (needs `--destructive`), what',
    'it needs, and what it asserts. Generated with `twincard conformance --list`; `test/unit/conformance/docs.test.ts`',
    'keeps this file equal to the code (`TWINCARD_UPDATE_DOCS=1` makes it rewrite the file). What the suite is and',
    'how to run it: [conformance.md](conformance.md).',
    '',
    '```text',
    renderList(checks),
    '```',
    '',
    `Total: ${checks.length} checks, ${checks.filter((c) => c.destructive).length} destructive.`,
    '',
  ].join('\n');
}
