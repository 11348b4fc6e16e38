#!/usr/bin/env node
/**
 * The `twincard` command. Thin: parsing, printing and exit codes live here; everything else is in the
 * library (src/apdu, src/readers, src/protocol), which never prints.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { cancelBackupCommand } from './commands/cancel-backup.js';
import { apduCommand } from './commands/apdu.js';
import { attestCommand } from './commands/attest.js';
import { conformanceCommand } from './commands/conformance.js';
import { backupCommand } from './commands/backup.js';
import { benchCommand } from './commands/bench.js';
import { changeCodeCommand } from './commands/change-code.js';
import { createWalletCommand } from './commands/create-wallet.js';
import { resetCommand } from './commands/reset.js';
import { doctorCommand } from './commands/doctor.js';
import { infoCommand } from './commands/info.js';
import { personalizeCommand } from './commands/personalize.js';
import { readersCommand } from './commands/readers.js';
import { signCommand } from './commands/sign.js';
import { simCommand } from './commands/sim.js';
import { describeError, exitCodeFor, UsageError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { checkRecordSupported, printLibraryLog } from './global-options.js';
import { Output } from './output.js';
import { describeVersion, versionDocument } from './version.js';

async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await yargs(argv)
      .scriptName('twincard')
      .version(false) // before our own --version option below, which yargs otherwise takes for its reserved one
      .usage('$0 <command> [options]\n\nTalk to twincard wallet cards through PC/SC readers.')
      .option('reader', {
        alias: 'r',
        type: 'string',
        describe: 'reader: exact name, index, or a unique fragment (default: TWINCARD_READER, or the only reader)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON document on stdout; human text on stderr' })
      .option('trace', { type: 'boolean', describe: 'print every APDU on stderr, secrets redacted (or TWINCARD_TRACE=1)' })
      .option('debug', { type: 'boolean', default: false, describe: 'stack traces on errors' })
      .option('wait', { type: 'number', default: 10, describe: 'seconds to wait for a card' })
      .option('record', {
        type: 'string',
        describe:
          'save every card exchange of this run to FILE as one redacted, replayable transcript ' +
          '(also when it fails; a resumed backup writes its own)',
      })
      .option('exchange-timeout', {
        type: 'number',
        default: 30,
        describe: 'seconds one APDU exchange may take (a stuck reader ends in an error)',
      })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'library log (PC/SC events) on stderr' })
      // Ours rather than yargs' built-in: it honours --json, and -v is --verbose already (so -V, as gp has).
      .option('version', { alias: 'V', type: 'boolean', default: false, describe: 'print the version (and the card protocol) and exit' })
      .middleware((args) => {
        if (args['version'] && args._.length > 0)
          throw new UsageError(`--version takes no command: twincard --version, not twincard ${String(args._[0])} --version`);
        checkRecordSupported(args._[0], args['record']);
        printLibraryLog(args['verbose'], (line) => process.stderr.write(`${line}\n`));
      })
      .command(readersCommand)
      .command(apduCommand)
      .command(infoCommand)
      .command(attestCommand)
      .command(createWalletCommand)
      .command(signCommand)
      .command(changeCodeCommand)
      .command(resetCommand)
      .command(personalizeCommand)
      .command(simCommand)
      .command(conformanceCommand)
      .command(backupCommand)
      .command(cancelBackupCommand)
      .command(benchCommand)
      .command(doctorCommand)
      .command(
        '$0',
        false,
        (y) => y,
        (args) => {
          if (!args['version']) throw new UsageError('name a command: twincard --help lists them');
          const out = Output.fromEnvironment(args['json']);
          const doc = versionDocument();
          out.print(describeVersion(doc));
          out.result(doc);
        },
      )
      .strict()
      .fail((message: string | undefined, error: Error | undefined) => {
        throw error ?? new UsageError(message ?? 'bad command line');
      })
      .help()
      .parseAsync();
    return ExitCode.OK;
  } catch (error) {
    process.stderr.write(`${debug ? debugReport(error) : describeError(error)}\n`);
    return exitCodeFor(error);
  }
}

/** --debug: the stack, and the stack of each cause (a backup's error wraps the one that stopped it). */
function debugReport(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; e = e instanceof Error ? e.cause : undefined, depth += 1) {
    const text = e instanceof Error && e.stack !== undefined ? e.stack : describeError(e);
    lines.push(depth === 0 ? text : `caused by: ${text}`);
  }
  return lines.join('\n');
}

// Exit explicitly, not when the event loop runs dry: pcsclite 1.0.1's CardReader close() races with the reader's
// status thread. Closed just after a card event, the thread leaves its loop without the last async notification,
// and its uv_async handle keeps the loop alive for ever: the command has printed its result, and never ends.
// stdout and stderr are synchronous on Linux pipes and files, so nothing written is lost.
process.exit(await main(hideBin(process.argv)));
