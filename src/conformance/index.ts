/**
 * The conformance suite: checks a card claiming docs/protocol.md, through any ApduTransport, with the host
 * as an active attacker. See docs/conformance.md.
 * @module
 */
export { runConformance, type CardEndpoint, type ConformanceOptions } from './runner.js';
export { buildSuite, listChecks, matchesOnly } from './suite.js';
export { renderChecksDocument, renderList, renderResult, renderTable, reportDocument, summaryLine } from './render.js';
export { loadInvalidPointFixture, parseInvalidPointFixture, FixtureError, type InvalidPoint, type InvalidPointFixture } from './wycheproof.js';
export type { Category, CheckInfo, CheckResult, CheckStatus, ConformanceReport, Exchange, Need } from './types.js';
