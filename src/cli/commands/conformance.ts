/**
 * `twincard conformance`: runs the protocol test suite (src/conformance) against the card in --reader, and
 * optionally a second card in --peer-reader. A pass/fail table on stderr, the report as one JSON document
 * on stdout with --json, exit 10 when any check failed. `--list` prints the catalogue without a card.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  listChecks,
  loadInvalidPointFixture,
  renderList,
  renderResult,
  reportDocument,
  runConformance,
  summaryLine,
  type CardEndpoint,
} from '../../conformance/index.js';
import { keyPairFromPem } from '../../protocol/keys.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { exchangeTimeoutMs, type GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { packageRoot, testManufacturerKeyPath } from '../paths.js';
import { commandRecording } from '../record.js';
import { openCardSession, traceEnabled, type CardSession } from '../session.js';
import { cardApplet, installApplet, simCardForReader, wipeCard } from '../../sim/index.js';
import { runDir } from './sim.js';

interface ConformanceArgs extends GlobalOptions {
  readonly peerReader: string | undefined;
  readonly destructive: boolean;
  readonly only: string | undefined;
  readonly list: boolean;
  readonly simReset: boolean;
  readonly verbose: boolean;
}

/** The Wycheproof invalid-point fixture shipped with the package. */
function invalidPointFixturePath(): string {
  return join(packageRoot(), 'fixtures', 'wycheproof', 'ecdh_secp256k1_invalid_points.json');
}

export const conformanceCommand: CommandModule<GlobalOptions, ConformanceArgs> = {
  command: 'conformance',
  describe: 'Run the protocol conformance suite (host as an active attacker) against a card',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('peer-reader', { type: 'string', describe: 'a second card, for the checks of a backup between two real cards' })
      .option('destructive', {
        type: 'boolean',
        default: false,
        describe:
          'allow checks and set-up that change the card for good (personalize, create, export ' +
          'or import a wallet, finalize a backup, change the access code, RESET, block the PIN)',
      })
      .option('only', { type: 'string', describe: 'run only these checks: comma-separated id prefixes or * patterns' })
      .option('list', { type: 'boolean', default: false, describe: 'print the checks (id, D = destructive, needs, title) and exit' })
      .option('sim-reset', {
        type: 'boolean',
        default: false,
        describe: 'virtual cards only: wipe the card (twincard sim) whenever a check needs a fresh one',
      })
      .option('verbose', { type: 'boolean', default: false, describe: 'say why each not-applicable check did not run' })
      .example('$0 conformance --reader "Virtual PCD 00 00" --destructive --sim-reset', 'the whole suite on a virtual card')
      .example('$0 conformance --reader 0 --peer-reader 1 --destructive', 'a real bench card and a peer card')
      .example('$0 conformance --list', 'the catalogue') as unknown as Argv<ConformanceArgs>,
  handler: async (argv: ArgumentsCamelCase<ConformanceArgs>) => {
    const out = Output.fromEnvironment(argv.json);
    const fixture = loadInvalidPointFixture(invalidPointFixturePath());
    if (argv.list) {
      const checks = listChecks(fixture.points);
      out.print(renderList(checks));
      out.print(`${checks.length} checks, ${checks.filter((c) => c.destructive).length} destructive`);
      out.result({ checks });
      return;
    }
    if (argv.simReset && !argv.destructive) throw new UsageError('--sim-reset wipes cards: it needs --destructive');
    const testManufacturer = keyPairFromPem(readFileSync(testManufacturerKeyPath(), 'utf8'));
    const trace = traceEnabled(argv.trace);
    // --record: the card under test and the peer in one file, each exchange tagged with its card.
    const recording = commandRecording(argv.record, 'conformance');
    const open = (reader: string | undefined) =>
      openCardSession({
        reader,
        trace,
        waitMs: argv.wait * 1000,
        exchangeTimeoutMs: exchangeTimeoutMs(argv),
        traceSink: (line) => out.info(line),
        recording,
      });
    const note = (text: string) => recording?.session.note(text);
    const sessions: CardSession[] = [];
    try {
      const main = await open(argv.reader);
      sessions.push(main);
      let peerEndpoint: CardEndpoint | undefined;
      if (argv.peerReader !== undefined) {
        const peer = await open(argv.peerReader);
        sessions.push(peer);
        if (peer.readerName === main.readerName) throw new UsageError('--peer-reader names the same reader as --reader');
        peerEndpoint = await endpoint(peer, argv.simReset, note);
      }
      out.info(
        `conformance: ` +
          `${main.readerName}${peerEndpoint ? ` with peer ${peerEndpoint.name}` : ''}${argv.destructive ? ' (destructive)' : ''}`,
      );
      // Lines as each check ends: a real card takes a while, and a person wants to see it move.
      const width = Math.max(...listChecks(fixture.points).map((c) => c.id.length));
      const report = await runConformance({
        card: await endpoint(main, argv.simReset, note),
        ...(peerEndpoint && { peer: peerEndpoint }),
        destructive: argv.destructive,
        ...(argv.only !== undefined && { only: argv.only }),
        testManufacturer,
        invalidPoints: fixture.points,
        onResult: (result) => {
          // After the check's exchanges: a reader of the file sees which ones belong to which check.
          recording?.session.note(`check ${result.id}: ${result.status}`);
          out.print(renderResult(result, { verbose: argv.verbose, width }));
        },
      });
      out.print(summaryLine(report));
      out.result(reportDocument(report));
      if (report.summary.failed > 0) {
        throw new CommandFailure(`the card does not conform: ${report.summary.failed} check(s) failed`, ExitCode.CONFORMANCE_FAILED);
      }
    } finally {
      for (const s of sessions.reverse()) await s.close();
    }
  },
};

/**
 * The card in a session, with a reset when asked for and the reader is a virtual card of this sim. The reset
 * reinstalls the applet class the card runs now (`applet CLASS`), not the sim's default (`wipe`), so a broken
 * variant or a developer's applet stays under test.
 */
async function endpoint(session: CardSession, simReset: boolean, note: (text: string) => void): Promise<CardEndpoint> {
  if (!simReset) return { transport: session.transport, name: session.readerName };
  const dir = runDir();
  const index = simCardForReader(dir, session.readerName);
  if (index === undefined) throw new UsageError(`--sim-reset: ${session.readerName} is not a virtual card of ${dir}`);
  const running = await cardApplet(dir, index);
  return {
    transport: session.transport,
    name: session.readerName,
    reset: async () => {
      await (running === null ? wipeCard(dir, index) : installApplet(dir, index, running));
      // Out of band (no APDU): the transcript says the card changed under it.
      note(`sim reset of ${session.readerName}: ${running === null ? 'wiped' : `applet ${running} installed again`}`);
    },
  };
}
