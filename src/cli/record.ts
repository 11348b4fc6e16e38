/**
 * `--record FILE`: every card command saves its card sessions (all cards, all taps) as ONE redacted
 * transcript (src/readers/recording.ts), written atomically whenever the command has a state worth keeping:
 * when a card is released, and at the end however the command ends (done, error, Ctrl-C, a resumable stop).
 * Each save writes the whole file again, so it never holds half a run appended to an older one; a command
 * run again (`backup --resume`) writes its own file.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toHex } from '../apdu/index.js';
import { writeFileAtomic } from '../flow/atomic-file.js';
import type { BackupEvent } from '../flow/backup-runner.js';
import { oneLine, SessionRecording } from '../readers/index.js';
import { packageRoot } from './paths.js';
import { cliTraceRedactor } from './trace-redactor.js';

export class CommandRecording {
  readonly session = new SessionRecording(cliTraceRedactor);
  readonly #header: string;

  constructor(
    readonly path: string,
    command: string | undefined,
    startedAt: Date = new Date(),
  ) {
    this.#header = recordHeader({ command, startedAt });
  }

  #saving: Promise<void> = Promise.resolve();

  /**
   * Writes the file (atomically: the old content or the new one, never a mix). Saves are queued: two saves
   * in flight could otherwise rename in the wrong order and leave the older text.
   */
  save(): Promise<void> {
    const text = `${this.#header}${this.session.text()}`;
    const next = this.#saving.then(() => writeFileAtomic(this.path, text, { mode: 0o644 }));
    this.#saving = next.catch(() => undefined);
    return next;
  }
}

/**
 * Runs a command's card work and saves its recording after it, however it ends: the transcript of a run that
 * failed or was interrupted is the one a bug report needs (unless no card was reached: then no file). A save
 * that fails after a failure is reported to `warn` and the command's own error is the one thrown; after a
 * success it is the error.
 */
export async function savingRecording<T>(
  recording: CommandRecording | undefined,
  warn: (line: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  if (recording === undefined) return work();
  let result: T;
  try {
    result = await work();
  } catch (error) {
    recording.session.detachAll();
    // Failed before any card was reached (a usage error, no reader): nothing to keep, and an earlier run's
    // file of the same name is worth more than an empty one.
    if (recording.session.presentations > 0) {
      await recording.save().catch((saveError: unknown) => warn(`--record: ${recording.path} not written: ${describe(saveError)}`));
    }
    throw error;
  }
  recording.session.detachAll();
  await recording.save();
  return result;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What a backup event adds to the transcript, as a note after the exchanges that led to it (no secret: ids and labels). */
export function backupEventNote(event: BackupEvent): string | undefined {
  switch (event.type) {
    case 'step-started':
      return `step-started ${event.step}: card ${toHex(event.cardId)} in ${event.where}`;
    case 'card-refused':
      return `card-refused ${event.reason}: ${event.message}`;
    case 'card-lost':
      return `card-lost: ${event.message}`;
    case 'checkpoint':
      return `checkpoint ${event.step}:${event.name}`;
    case 'step-done':
      return `step-done ${event.step} (${event.number}/${event.total})`;
    case 'need-card':
    case 'hold-still':
      return undefined;
  }
}

/**
 * One per file for the life of the process: a command that opens several cards one after another (change-code)
 * adds each to the same file.
 */
const recordings = new Map<string, CommandRecording>();

/** The recording `--record FILE` asks for (undefined without one), the same one for every card the command opens. */
export function commandRecording(record: string | undefined, command?: string): CommandRecording | undefined {
  if (record === undefined) return undefined;
  const path = resolve(record);
  let recording = recordings.get(path);
  if (recording === undefined) {
    recording = new CommandRecording(path, command);
    recordings.set(path, recording);
  }
  return recording;
}

/**
 * The comment lines a `--record` transcript starts with: enough to tell where it came from, and how to
 * read its `..` bytes.
 */
export function recordHeader(source: { command?: string | undefined; startedAt: Date }): string {
  return [
    `# twincard ${twincardVersion()} session transcript (--record)${source.command === undefined ? '' : `: ${oneLine(source.command)}`}`,
    `# date: ${source.startedAt.toISOString()}`,
    "# secrets are redacted: each '..' is a byte not recorded; a replay accepts any byte there in a command",
    '# and returns 00 for it in a response (src/readers/transcript.ts)',
    "# each '# connect N: READER (ATR ...)' line starts a card presentation: the exchanges below it, up to",
    "# '# disconnect N', went to that card (src/readers/recording.ts splits them)",
    '',
  ].join('\n');
}

let version: string | undefined;

function twincardVersion(): string {
  if (version !== undefined) return version;
  try {
    const manifest = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
    version = typeof manifest.version === 'string' ? oneLine(manifest.version) : 'unknown';
  } catch {
    version = 'unknown';
  }
  return version;
}
