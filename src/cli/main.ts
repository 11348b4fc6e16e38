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

async function main(argv: readonly string[]): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    await yargs(argv)
      .scriptName('twincard')
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
      .option('record', { type: 'string', describe: 'save the card session to FILE as a redacted transcript (replayable)' })
      .option('exchange-timeout', { type: 'number', default: 30, describe: 'seconds one APDU exchange may take (a stuck reader ends in an error)' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'library log (PC/SC events) on stderr' })
      .middleware((args) => {
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
      .demandCommand(1, 'name a command: twincard --help lists them')
      .strict()
      .fail((message: string | undefined, error: Error | undefined) => {
        throw error ?? new UsageError(message ?? 'bad command line');
      })
      .help()
      .version(false)
      .parseAsync();
    return ExitCode.OK;
  } catch (error) {
    process.stderr.write(`${debug && error instanceof Error && error.stack ? error.stack : describeError(error)}\n`);
    return exitCodeFor(error);
  }
}

process.exitCode = await main(hideBin(process.argv));
