/**
 * A yes/no question on the terminal (stderr), for destructive or optional steps. Without a terminal the
 * answer is the safe default (no): scripts say what they want with flags (`--force`, `--all-cards`).
 * @module
 */
import { createInterface } from 'node:readline/promises';
import { CommandFailure } from './errors.js';
import { ExitCode } from './exit-codes.js';

export interface ConfirmTerminal {
  readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly output: NodeJS.WritableStream;
}

/**
 * Asks `question [y/N]`; only `y` or `yes` (any case) is a yes.
 * @returns false without a terminal, on end of input, or for any other answer.
 */
export async function confirm(
  question: string,
  terminal: ConfirmTerminal = { input: process.stdin, output: process.stderr },
): Promise<boolean> {
  if (terminal.input.isTTY !== true) return false;
  const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

/**
 * The gate of a destructive command: `--force`, or a yes on the terminal (so without a terminal, only `--force`).
 * @throws CommandFailure (usage) naming the command and what was left as it was
 */
export async function confirmOrRefuse(force: boolean, question: string, command: string, untouched: string): Promise<void> {
  if (force || (await confirm(question))) return;
  throw new CommandFailure(`${command}: not confirmed (--force skips the question); ${untouched}`, ExitCode.USAGE);
}
