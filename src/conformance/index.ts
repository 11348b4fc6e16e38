/**
 * The conformance suite: checks a card claiming docs/protocol.md, through any ApduTransport, with the host
 * as an active attacker. See docs/conformance.md.
 * @module
 */
export { runConformance, type CardEndpoint } from './runner.js';
export { buildSuite, listChecks, matchesOnly } from './suite.js';
export { renderChecksDocument, renderList, renderResult, renderTable, reportDocument, summaryLine } from './render.js';
export { loadInvalidPointFixture, parseInvalidPointFixture, FixtureError } from './wycheproof.js';
export type { CheckResult, ConformanceReport } from './types.js';
