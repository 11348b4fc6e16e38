/**
 * The runner on a recorded session of the reference applet (no hand-made card): the checks whose APDUs are
 * fixed replay exactly and pass; the same session with one answer changed fails exactly the check that
 * sent that command, with what was expected, what came back and the APDUs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReplayTransport } from '../../../src/readers/index.js';
import { loadInvalidPointFixture, runConformance } from '../../../src/conformance/index.js';

const dir = join(process.cwd(), 'test', 'unit', 'conformance', 'transcripts');
const transcript = readFileSync(join(dir, 'factory-header-checks.apdu'), 'utf8');
const points = loadInvalidPointFixture(join(process.cwd(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json')).points;
const ONLY = 'select/,read/,header/cla,header/ins,header/order-cla,header/order-ins,tlv/lc-mismatch';

function run(text: string) {
  return runConformance({
    card: { transport: new ReplayTransport(text), name: 'replay' },
    destructive: false,
    only: ONLY,
    invalidPoints: points,
  });
}

test('the recorded session replays: 11 checks, all pass, each with the APDUs it sent', async () => {
  const report = await run(transcript);
  expect(report.summary).toEqual({ total: 11, passed: 11, failed: 0, notApplicable: 0 });
  expect(report.testManufacturer).toBe(false);
  const cla = report.results.find((r) => r.id === 'header/cla-00');
  expect(cla?.sent).toEqual([{ command: '0010000000', sw: '6E00', responseBytes: 0 }]);
  expect(cla?.expected).toBe('SW 6E00');
});

test('a card that answers 6D00 to CLA 00 fails header/cla-00 and nothing else', async () => {
  const lines = transcript.split('\n');
  const at = lines.indexOf('=> 0010000000');
  expect(lines[at + 1]).toBe('<= 6E00');
  lines[at + 1] = '<= 6D00';
  const report = await run(lines.join('\n'));
  expect(report.results.filter((r) => r.status === 'fail').map((r) => [r.id, r.expected, r.actual])).toEqual([
    ['header/cla-00', 'SW 6E00', 'SW 6D00'],
  ]);
});

test('a card whose READ answer changes after a refused command fails that check with the difference named', async () => {
  // The lc-mismatch check READs after its refused APDU: make that READ report the card BLANK.
  const lines = transcript.split('\n');
  const mismatch = lines.indexOf('=> 80100000050102');
  const read = lines.indexOf('=> 8010000000', mismatch);
  const before = lines[read + 1]!;
  expect(before.startsWith('<= 0101020301000601')).toBe(true);
  lines[read + 1] = before.replace('<= 0101020301000601', '<= 0101020301010601');
  const report = await run(lines.join('\n'));
  const r = report.results.find((x) => x.id === 'tlv/lc-mismatch');
  expect(r?.status).toBe('fail');
  expect(r?.actual).toMatch(/SW 6700; READ (changed: state FACTORY -> BLANK|answer no longer well-formed)/);
});
