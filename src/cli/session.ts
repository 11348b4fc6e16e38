/**
 * Opening a card the way every command does: one PC/SC context, the reader the user meant, the card in it,
 * a deadline on every exchange, optionally wrapped in the APDU trace and recorded (`--record FILE`) as a
 * redacted transcript. Closing it always lets the process exit.
 */
import {
  ApduChannel,
  DEFAULT_EXCHANGE_TIMEOUT_MS,
  ExchangeTimeoutError,
  TimeoutTransport,
  toHex,
  type ApduTransport,
  type ExchangeRedactor,
} from '../apdu/index.js';
import { PcscService, resolveReader, TracingTransport, type PcscCard } from '../readers/index.js';
import type { CommandRecording } from './record.js';
import { cliTraceRedactor } from './trace-redactor.js';

export interface CardSessionOptions {
  readonly reader?: string | undefined;
  readonly trace: boolean;
  /** How long to wait for a card to be presented, in ms. */
  readonly waitMs: number;
  /** A factory, called once per use (trace, record): redactors are stateful. Default: {@link cliTraceRedactor}. */
  readonly redactor?: () => ExchangeRedactor;
  readonly traceSink: (line: string) => void;
  /** Called once when the reader is empty and the session starts waiting for a card (to prompt "tap a card"). */
  readonly onWaiting?: (readerName: string) => void;
  /**
   * `--record`: this card's exchanges go into the command's transcript (its own presentation, its own
   * redactor), which is saved when the session closes (also after a failure). Redacted with
   * {@link cliTraceRedactor}, whatever `redactor` says: a file must hide at least what a trace hides.
   */
  readonly recording?: CommandRecording | undefined;
  /** Deadline of one exchange with the card, in ms. Default {@link DEFAULT_EXCHANGE_TIMEOUT_MS}. */
  readonly exchangeTimeoutMs?: number | undefined;
}

export interface CardSession {
  readonly readerName: string;
  readonly card: PcscCard;
  readonly transport: ApduTransport;
  readonly channel: ApduChannel;
  /** Releases the card, then saves the `--record` file if one was asked for. */
  close(): Promise<void>;
}

export async function openCardSession(options: CardSessionOptions): Promise<CardSession> {
  const service = PcscService.open();
  try {
    const readers = await service.waitForReaders({ timeoutMs: Math.min(options.waitMs, 2000) });
    const readerName = resolveReader(
      readers.map((r) => r.name),
      options.reader ?? process.env['TWINCARD_READER'],
    );
    if (options.onWaiting !== undefined && service.readers().find((r) => r.name === readerName)?.cardPresent !== true) {
      options.onWaiting(readerName);
    }
    await service.waitForCard(readerName, { timeoutMs: options.waitMs });
    const card = await service.connect(readerName, { share: 'exclusive', protocol: 'any' });
    const redactor = options.redactor ?? cliTraceRedactor;
    let transport: ApduTransport = new TimeoutTransport(card, options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS);
    const recording = options.recording;
    const recorded = recording?.session.attach(transport, { reader: readerName, atr: card.atr });
    if (recorded !== undefined) transport = recorded;
    if (options.trace) transport = new TracingTransport(transport, options.traceSink, redactor());
    if (options.trace) options.traceSink(`# connect ${readerName} ATR ${toHex(card.atr)} (${card.protocol})`);
    return {
      readerName,
      card,
      transport,
      channel: new ApduChannel(transport),
      async close() {
        try {
          // A wedged reader may not answer the disconnect either: the same deadline as an exchange.
          await withDeadline(
            card.disconnect('reset'),
            options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS,
            `disconnect from ${readerName}`,
          );
          if (options.trace) options.traceSink(`# disconnect ${readerName}`);
        } finally {
          service.close();
          if (recording !== undefined) {
            recorded?.detach();
            await recording.save();
          }
        }
      },
    };
  } catch (error) {
    service.close();
    throw error;
  }
}

async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExchangeTimeoutError(ms, ` (${what})`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function traceEnabled(flag: boolean | undefined): boolean {
  return flag === true || process.env['TWINCARD_TRACE'] === '1';
}
