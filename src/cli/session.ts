/**
 * Opening a card the way every command does: one PC/SC context, the reader the user meant, the card in it,
 * optionally wrapped in the APDU trace. Closing it always lets the process exit.
 */
import { ApduChannel, type ApduTransport } from '../apdu/index.js';
import { PcscService, resolveReader, TracingTransport, type PcscCard, type Redactor } from '../readers/index.js';
import { cliTraceRedactor } from './trace-redactor.js';

export interface CardSessionOptions {
  readonly reader?: string | undefined;
  readonly trace: boolean;
  /** How long to wait for a card to be presented, in ms. */
  readonly waitMs: number;
  /** Default: {@link cliTraceRedactor} (access codes and wallet blobs never appear in a trace). */
  readonly redactor?: Redactor;
  readonly traceSink: (line: string) => void;
  /** Called once when the reader is empty and the session starts waiting for a card (to prompt "tap a card"). */
  readonly onWaiting?: (readerName: string) => void;
}

export interface CardSession {
  readonly readerName: string;
  readonly card: PcscCard;
  readonly transport: ApduTransport;
  readonly channel: ApduChannel;
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
    const transport: ApduTransport = options.trace
      ? new TracingTransport(card, options.traceSink, options.redactor ?? cliTraceRedactor())
      : card;
    if (options.trace) options.traceSink(`# connect ${readerName} ATR ${Buffer.from(card.atr).toString('hex').toUpperCase()} (${card.protocol})`);
    return {
      readerName,
      card,
      transport,
      channel: new ApduChannel(transport),
      async close() {
        try {
          await card.disconnect('reset');
          if (options.trace) options.traceSink(`# disconnect ${readerName}`);
        } finally {
          service.close();
        }
      },
    };
  } catch (error) {
    service.close();
    throw error;
  }
}

export function traceEnabled(flag: boolean | undefined): boolean {
  return flag === true || process.env['TWINCARD_TRACE'] === '1';
}
