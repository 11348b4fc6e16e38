/**
 * The conformance report as people and programs read it: the table (a line per check, expected and actual
 * and the APDUs under each failure, a summary), the --json document and the --list catalogue.
 */
import {
  renderList,
  renderTable,
  reportDocument,
  summaryLine,
  type CheckResult,
  type ConformanceReport,
} from '../../../src/conformance/index.js';

const base = { category: 'attacker', destructive: false, needs: [], durationMs: 1.234 } as const;
const results: CheckResult[] = [
  {
    ...base,
    id: 'select/answer',
    title: 'SELECT',
    status: 'pass',
    expected: 'SW 9000',
    actual: 'SW 9000',
    sent: [{ command: '00A404000AF07477696E636172640100', sw: '9000', responseBytes: 6 }],
  },
  {
    ...base,
    id: 'import/tampered-tag',
    title: 'tampered tag',
    status: 'fail',
    expected: 'SW 9A05; READ unchanged',
    actual: 'SW 9000; READ changed: state BACKUP_PENDING -> BACKED_UP',
    sent: [{ command: '805A0000C4 [redacted 196 bytes]', sw: '9000', responseBytes: 70 }],
  },
  {
    ...base,
    id: 'peer/backup',
    title: 'peer',
    destructive: true,
    needs: ['peer-card'],
    status: 'not-applicable',
    expected: '',
    actual: 'needs a second card: --peer-reader',
    sent: [],
  },
];
const report: ConformanceReport = {
  reader: 'Virtual PCD 00 00',
  peerReader: null,
  destructive: true,
  testManufacturer: true,
  results,
  summary: { total: 3, passed: 1, failed: 1, notApplicable: 1 },
  durationMs: 2345.6,
};

test('the table: PASS / FAIL / N/A per check, expected, actual and the APDUs under a failure, then the summary', () => {
  const lines = renderTable(report).split('\n');
  expect(lines[0]).toMatch(/^PASS {2}select\/answer\s*$/);
  expect(lines[1]).toMatch(/^FAIL {2}import\/tampered-tag/);
  expect(lines[2]).toBe('        expected: SW 9A05; READ unchanged');
  expect(lines[3]).toBe('        actual:   SW 9000; READ changed: state BACKUP_PENDING -> BACKED_UP');
  expect(lines[4]).toBe('        >> 805A0000C4 [redacted 196 bytes]  << 9000 (70 bytes)');
  expect(lines[5]).toMatch(/^N\/A {3}peer\/backup\s+\[destructive\]$/);
  expect(lines[6]).toBe('3 checks: 1 passed, 1 failed, 1 not applicable (2.3 s)');
  expect(lines).toHaveLength(7);
});

test('--verbose says why a check was not applicable; a passing check never shows its APDUs', () => {
  const text = renderTable(report, { verbose: true });
  expect(text).toContain('peer/backup');
  expect(text).toContain('(needs a second card: --peer-reader)');
  expect(text).not.toContain('00A404000A');
});

test('the JSON document: format, verdict, summary and every result with what was sent', () => {
  const doc = reportDocument(report);
  expect(doc).toMatchObject({
    format: 'twincard-conformance/1',
    conforms: false,
    reader: 'Virtual PCD 00 00',
    peerReader: null,
    durationMs: 2346,
  });
  const parsed = JSON.parse(JSON.stringify(doc)) as { results: Array<{ id: string; status: string; sent: unknown[]; durationMs: number }> };
  expect(parsed.results.map((r) => [r.id, r.status])).toEqual([
    ['select/answer', 'pass'],
    ['import/tampered-tag', 'fail'],
    ['peer/backup', 'not-applicable'],
  ]);
  expect(parsed.results[1]!.sent).toEqual([{ command: '805A0000C4 [redacted 196 bytes]', sw: '9000', responseBytes: 70 }]);
  expect(parsed.results[0]!.durationMs).toBe(1.2);
  expect(reportDocument({ ...report, summary: { ...report.summary, failed: 0 } })['conforms']).toBe(true);
});

test('the summary line and the --list catalogue', () => {
  expect(summaryLine({ ...report, durationMs: 999 })).toBe('3 checks: 1 passed, 1 failed, 1 not applicable (1.0 s)');
  const list = renderList(results).split('\n');
  expect(list[0]).toMatch(/^select\/answer\s+-\s+-\s+SELECT$/);
  expect(list[2]).toMatch(/^peer\/backup\s+D\s+peer-card\s+peer$/);
});
