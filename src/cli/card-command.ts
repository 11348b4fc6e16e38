/**
 * What every single-card command does around its own work: open the reader the user meant (prompting
 * "present a card" only when the reader is empty, and waiting on reader events), wrap it in the redacted
 * trace when asked, hand a TwincardCard to the command, and always release the card.
 * @module
 */
import { TwincardCard } from '../protocol/card.js';
import { exchangeTimeoutMs, type GlobalOptions } from './global-options.js';
import type { Output } from './output.js';
import { commandRecording } from './record.js';
import { openCardSession, traceEnabled } from './session.js';

export interface CardContext {
  readonly card: TwincardCard;
  readonly readerName: string;
}

/**
 * Runs `work` with the card in the selected reader.
 * @example await withCard(argv, out, async ({ card }) => card.read());
 */
export async function withCard<T>(argv: GlobalOptions, out: Output, work: (context: CardContext) => Promise<T>): Promise<T> {
  const session = await openCardSession({
    reader: argv.reader,
    trace: traceEnabled(argv.trace),
    waitMs: argv.wait * 1000,
    traceSink: (line) => out.info(line),
    onWaiting: (reader) => out.emphasis(`Present a card to ${reader} (waiting ${argv.wait} s)`),
    recording: commandRecording(argv.record),
    exchangeTimeoutMs: exchangeTimeoutMs(argv),
  });
  const card = new TwincardCard(session.transport);
  try {
    return await work({ card, readerName: session.readerName });
  } finally {
    card.closeSession(); // wipe the card-session keys as soon as the command is done with the card
    await session.close();
  }
}
