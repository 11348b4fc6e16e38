/**
 * `twincard backup`: copy the wallet of the primary card onto 1 or 2 blank cards (docs/backup-flow.md).
 *
 * One reader: the cards are tapped one after another and the command says which one it needs next.
 * Several `--reader`s (a bench): every card already sits in a reader and the backup runs in one pass.
 * After every step a journal is saved atomically; whatever stops the command (Ctrl-C, a pulled card, a
 * crash), `twincard backup --resume` continues from it. Exit code 9 means exactly that: interrupted,
 * resumable.
 *
 * Test hook, read here and nowhere else: TWINCARD_TEST_CRASH_AFTER_STEP=<save point> kills this process
 * with SIGKILL right after the journal of that save point is written. Save points: a step's label
 * (prepare-backup-1, prepare-backup-2, export-primary, import-1, import-2) once it is done, and the
 * checkpoints inside steps, `<step>:<name>`: prepare-backup-i:claimed (before BACKUP_PREPARE) and
 * export-primary:exported-i (after each BACKUP_EXPORT). The kill-at-every-save-point test uses it to
 * crash where a real crash could.
 * Test hook TWINCARD_TEST_SESSION_SEED=<text> (only with --trust-test-root): the host's session randomness
 * (eH, IVs) from that seed instead of the system's, so that a `--record` transcript of TEST cards can be
 * replayed byte for byte in a unit test. Anyone who knows the seed can open the session: never for a real card.
 * @module
 */
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_EXCHANGE_TIMEOUT_MS, StatusWordError, TimeoutTransport, toHex, type ApduTransport } from '../../apdu/index.js';
import { NoMatchingCardError, PcscCardSource } from '../../flow/card-source.js';
import { runBackup, type BackupEvent } from '../../flow/backup-runner.js';
import { loadJournal, saveJournal } from '../../flow/journal.js';
import { JournalLockedError, lockJournal, type JournalLock } from '../../flow/lock.js';
import type { TrustedRoot } from '../../protocol/roots.js';
import { BackupCardError, backupNeedsPin, verifyJournal, WrongCardError } from '../../protocol/backup.js';
import { JournalError, newJournal, totalSteps, type BackupJournal } from '../../protocol/backup-model.js';
import { seededRandom } from '../../protocol/seeded-random.js';
import { MalformedResponseError, PinBlockedError, WrongPinError } from '../../protocol/errors.js';
import { PcscService, resolveReader, TracingTransport } from '../../readers/index.js';
import { CommandFailure, describeError, exitCodeFor, InterruptedError, UsageError } from '../errors.js';
import { exchangeTimeoutMs, type GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { readPin } from '../pin.js';
import { backupEventNote, commandRecording, savingRecording, type CommandRecording } from '../record.js';
import { traceEnabled } from '../session.js';
import { cliTraceRedactor } from '../trace-redactor.js';
import { testRootWarning } from '../secure-card.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

interface BackupOptions extends Omit<GlobalOptions, 'reader'> {
  readonly reader: readonly string[] | undefined;
  readonly backups: number | undefined;
  readonly resume: boolean;
  readonly journal: string | undefined;
  readonly trustTestRoot: boolean;
  readonly root: readonly string[] | undefined;
  readonly pinEnv: string | undefined;
  readonly pinFile: string | undefined;
}

/** The journal's default place: `$XDG_STATE_HOME/twincard/backup-journal.json` (else `~/.local/state/...`). */
export function defaultJournalPath(env: NodeJS.ProcessEnv = process.env): string {
  const state = env['XDG_STATE_HOME'];
  return join(state !== undefined && state !== '' ? state : join(homedir(), '.local', 'state'), 'twincard', 'backup-journal.json');
}

/** The test hook's name (see the module comment). */
const CRASH_HOOK_ENV = 'TWINCARD_TEST_CRASH_AFTER_STEP';
/** The session-randomness test hook's name (see the module comment). */
const SESSION_SEED_ENV = 'TWINCARD_TEST_SESSION_SEED';

export const backupCommand: CommandModule<GlobalOptions, BackupOptions> = {
  command: 'backup',
  describe: 'Back up the wallet of the primary card to 1 or 2 blank cards (resumable)',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .option('reader', {
        type: 'string',
        array: true,
        describe: 'reader (name, index or fragment); repeat it to put every card in its own reader (bench: one pass, no prompts)',
      })
      .option('backups', { type: 'number', describe: 'how many backup cards: 1 or 2 (default 2; a resumed backup keeps its own)' })
      .option('resume', { type: 'boolean', default: false, describe: 'continue the backup the journal holds' })
      .option('journal', { type: 'string', describe: 'the journal file (default $XDG_STATE_HOME/twincard/backup-journal.json)' })
      .option('pin-env', { type: 'string', describe: 'read the access code from this environment variable' })
      .option('pin-file', { type: 'string', describe: 'read the access code from this file (mode 600)' })
      .conflicts('pin-env', 'pin-file')
      .option('wait', { type: 'number', default: 120, describe: 'seconds to wait for each card' })
      .example('$0 backup --backups 2', 'one reader: tap the cards as asked')
      .example('$0 backup -r "PCD 00 00" -r "PCD 00 01" -r "PCD 2 00 00" --pin-file pin.txt', 'a bench: three readers, one pass')
      .example('$0 backup --resume', 'continue after Ctrl-C, a crash or a card pulled away')
      .example(
        '$0 backup --record run1.apdu',
        'every card and tap in one redacted transcript, also when the run stops early; ' +
          'a --resume run writes its own file (give it another name to keep both)',
      ) as unknown as Argv<BackupOptions>,
  handler: async (argv: ArgumentsCamelCase<BackupOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const journalPath = resolve(argv.journal ?? defaultJournalPath());
    // Roots first: a bad --root file is a usage error before any card is touched.
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, rootFiles: argv.root });
    await mkdir(dirname(journalPath), { recursive: true, mode: 0o700 });
    // Before the journal is read: two processes on one journal would overwrite each other's steps.
    let lock: JournalLock;
    try {
      lock = await lockJournal(journalPath);
    } catch (error) {
      if (error instanceof JournalLockedError) throw new UsageError(error.message);
      throw error;
    }
    const recording = commandRecording(argv.record, argv.resume ? 'backup --resume' : 'backup');
    try {
      await savingRecording(
        recording,
        (line) => out.info(line),
        () => backup(argv, out, journalPath, roots, recording),
      );
    } finally {
      await lock.release();
    }
  },
};

async function backup(
  argv: BackupOptions,
  out: Output,
  journalPath: string,
  roots: readonly TrustedRoot[],
  recording: CommandRecording | undefined,
): Promise<void> {
  const randomHook = sessionRandomHook(argv, out);
  const journal = await openJournal(argv, journalPath, roots);
  const resumable = (message: string) => `${message}\nthe backup is kept in ${journalPath}: run \`twincard backup --resume\` to continue`;

  let pin: Uint8Array | undefined;
  let createdJournal = false;
  let progressed = false;
  const service = PcscService.open();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => abort.abort(new InterruptedError(`interrupted (${signal})`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (backupNeedsPin(journal)) {
      if (argv.pinEnv !== undefined && (process.env[argv.pinEnv] ?? '') === '') {
        throw new UsageError(`--pin-env ${argv.pinEnv}: that environment variable is not set`);
      }
      pin = await readPin({
        pinFile: argv.pinFile,
        ...(argv.pinEnv !== undefined && { env: { TWINCARD_PIN: process.env[argv.pinEnv] } }),
        prompt: 'Access code of the primary card',
      });
    }
    const available = (await service.waitForReaders({ timeoutMs: 2000 })).map((r) => r.name);
    const selectors = argv.reader !== undefined && argv.reader.length > 0 ? argv.reader : [process.env['TWINCARD_READER'] ?? ''];
    const readers = [...new Set(selectors.map((s) => resolveReader(available, s)))];
    const bench = readers.length > 1;
    const trace = traceEnabled(argv.trace);
    const source = new PcscCardSource(service, readers, {
      mode: bench ? 'bench' : 'tap',
      waitMs: argv.wait * 1000,
      wrap: (card, reader): ApduTransport => {
        // One card at a time: the source released the last one before it connected this one.
        recording?.session.detachAll();
        const recorded = recording?.session.attach(card, { reader, atr: card.atr }) ?? card;
        // A wedged reader ends the backup (exit 9, resumable) instead of hanging it, as in every other command.
        const timed = new TimeoutTransport(recorded, exchangeTimeoutMs(argv) ?? DEFAULT_EXCHANGE_TIMEOUT_MS);
        if (!trace) return timed;
        out.info(`# connect ${reader}`);
        return new TracingTransport(timed, (line) => out.info(line), cliTraceRedactor());
      },
    });
    out.info(
      bench
        ? `backup to ${journal.backupCount} card(s), bench mode: ${readers.length} readers, no prompts`
        : `backup to ${journal.backupCount} card(s) on ${readers.join(', ')}: ` +
            `${totalSteps(journal.backupCount)} taps, the backup cards first`,
    );
    if (!argv.resume) {
      // Saved before the first tap: it claims the path (a second `twincard backup` refuses) and makes
      // an interruption at the very first card resumable too.
      await saveJournal(journalPath, journal);
    }
    createdJournal = !argv.resume;
    const crashAfter = process.env[CRASH_HOOK_ENV];
    const started = performance.now();
    let final: BackupJournal;
    try {
      final = await runBackup(journal, {
        source,
        journalPath,
        roots,
        pin,
        signal: abort.signal,
        ...randomHook,
        onEvent: (event) => {
          report(out, event, bench);
          const note = recording === undefined ? undefined : backupEventNote(event);
          if (note !== undefined) recording?.session.note(note);
          // Saved at every save point too: a later crash (SIGKILL) still leaves the transcript up to there.
          if (recording !== undefined && (event.type === 'step-done' || event.type === 'checkpoint')) {
            recording.save().catch((error: unknown) => out.info(`--record: ${recording.path} not written: ${String(error)}`));
          }
          if (event.type === 'step-done' || event.type === 'checkpoint') progressed = true;
          const label = event.type === 'step-done' ? event.step : event.type === 'checkpoint' ? `${event.step}:${event.name}` : undefined;
          if (crashAfter !== undefined && label === crashAfter) process.kill(process.pid, 'SIGKILL');
        },
      });
    } finally {
      await source.close();
    }
    const seconds = (performance.now() - started) / 1000;
    await rm(journalPath, { force: true });
    const primary = final.primary;
    if (primary === undefined) throw new Error('the backup ended without a primary recorded');
    out.printEmphasis(
      `backup complete in ${seconds.toFixed(2)} s: the wallet ${toHex(primary.walletPublicKey)} is on ${final.backups.length + 1} cards`,
    );
    out.result({
      walletPublicKey: primary.walletPublicKey,
      primary: primary.cardId,
      backups: final.backups.map((b) => b.cardId),
      seconds: Number(seconds.toFixed(3)),
    });
  } catch (error) {
    // Before a new backup's journal is saved there is nothing to resume: the error as it is.
    if (!argv.resume && !createdJournal) throw error;
    // A new backup refused before any card changed (a bench without the right cards, a card that is
    // not genuine): there is nothing to resume, so no journal is left to trip the next attempt.
    // progressed is set in the event callback, which TypeScript's narrowing does not follow.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- see above
    if (createdJournal && !progressed && isRefusal(error)) {
      await rm(journalPath, { force: true });
      throw classify(error, (message) => `${message}\nnothing was changed on any card; no journal kept`);
    }
    throw classify(error, resumable);
  } finally {
    pin?.fill(0);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    service.close();
  }
}

/** The session-randomness test hook (see the module comment), refused unless TEST roots are trusted. */
function sessionRandomHook(argv: BackupOptions, out: Output): { sessionRandom?: (length: number) => Uint8Array } {
  const seed = process.env[SESSION_SEED_ENV];
  if (seed === undefined || seed === '') return {};
  if (!argv.trustTestRoot) throw new UsageError(`${SESSION_SEED_ENV} is a test hook for TEST cards: it needs --trust-test-root`);
  out.emphasis(`${SESSION_SEED_ENV} is set: the card sessions use predictable keys (a test hook; never with a real card)`);
  return { sessionRandom: seededRandom(seed) };
}

async function openJournal(argv: BackupOptions, path: string, roots: readonly TrustedRoot[]): Promise<BackupJournal> {
  if (argv.backups !== undefined && argv.backups !== 1 && argv.backups !== 2)
    throw new UsageError(`--backups: 1 or 2, not ${argv.backups}`);
  let existing: BackupJournal | undefined;
  try {
    existing = await loadJournal(path);
  } catch (error) {
    if (error instanceof JournalError) throw new UsageError(`the backup journal cannot be used: ${error.message}`);
    throw error;
  }
  if (argv.resume) {
    if (existing === undefined) throw new UsageError(`--resume: there is no backup to resume in ${path}`);
    if (argv.backups !== undefined && argv.backups !== existing.backupCount) {
      throw new UsageError(`--resume: the backup in ${path} is to ${existing.backupCount} card(s), not ${argv.backups}`);
    }
    try {
      verifyJournal(existing, roots);
    } catch (error) {
      if (error instanceof JournalError) throw new UsageError(`the backup journal ${path} does not verify: ${error.message}`);
      throw error;
    }
    return existing;
  }
  if (existing !== undefined) {
    throw new UsageError(
      existing.primary === undefined
        ? `a backup is in progress (${path}): continue it with --resume; to give it up, free each backup card it prepared ` +
            'with `twincard cancel-backup` (the journal goes with the last one)'
        : `a backup is in progress (${path}) and the primary has already exported: only \`twincard backup --resume\` goes forward`,
    );
  }
  return newJournal(argv.backups === 1 ? 1 : 2);
}

function report(out: Output, event: BackupEvent, bench: boolean): void {
  switch (event.type) {
    case 'need-card':
      if (!bench) out.emphasis(`${event.prompt}${event.again ? ' (again)' : ''}`);
      return;
    case 'step-started':
      out.info(`  ${event.step}: card ${toHex(event.cardId)} in ${event.where}`);
      if (event.testCard) out.emphasis(`  ${testRootWarning(event.cardId)}`);
      return;
    case 'hold-still':
      if (!bench) out.emphasis('  Hold the card still...');
      return;
    case 'card-refused':
      out.info(`  refused: ${event.message}`);
      return;
    case 'card-lost':
      out.info(`  the card went away mid-step (${event.where}); the step will be repeated when it is back`);
      return;
    case 'checkpoint':
      out.info(
        event.name === 'claimed' ? `  ${event.step}: card claimed` : `  ${event.step}: blob for backup card ${event.name.slice(-1)} saved`,
      );
      return;
    case 'step-done':
      // With one reader the next card can only be tapped once this one is taken away.
      out.info(
        `step ${event.number}/${event.total} done: ${event.step}${bench || event.number === event.total ? '' : '; take the card away'}`,
      );
      return;
  }
}

/** A card or the cards present were refused (as opposed to an interruption or a broken exchange). */
function isRefusal(error: unknown): boolean {
  // A wrong access code spent a try: that is a change, and the same backup continues with the right one.
  if (error instanceof WrongPinError || error instanceof PinBlockedError) return false;
  return (
    (error instanceof NoMatchingCardError && error.refusals.length > 0) ||
    error instanceof BackupCardError ||
    error instanceof WrongCardError ||
    error instanceof StatusWordError ||
    error instanceof MalformedResponseError
  );
}

/** The error the user sees: what happened and where the backup is kept; its exit code from the one classifier. */
function classify(error: unknown, resumable: (message: string) => string): CommandFailure {
  return new CommandFailure(resumable(describeError(error)), exitCodeFor(error, { resumable: true }), { cause: error });
}
