/**
 * Opening a card the way every command does: one PC/SC context, the reader the user meant, the card in it,
 * a deadline on every exchange, optionally wrapped in the APDU trace and recorded (`--record FILE`) as a
 * redacted transcript. Closing it always lets the process exit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApduChannel, DEFAULT_EXCHANGE_TIMEOUT_MS, ExchangeTimeoutError, TimeoutTransport, toHex, type ApduTransport, type ExchangeRedactor } from '../apdu/index.js';
import { writeFileAtomic } from '../flow/atomic-file.js';
import { PcscService, RecordingTransport, resolveReader, TracingTransport, type PcscCard } from '../readers/index.js';
import { packageRoot } from './paths.js';
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
  /** Write the session to this file as a redacted transcript when it closes (also after a failure). */
  readonly record?: string | undefined;
  /** Deadline of one exchange with the card, in ms. Default {@link DEFAULT_EXCHANGE_TIMEOUT_MS}. */
  readonly exchangeTimeoutMs?: number | undefined;
}

export interface CardSession {
  readonly readerName: string;
  readonly card: PcscCard;
  readonly transport: ApduTransport;
  readonly channel: ApduChannel;
  /** Releases the card, then writes the `--record` file if one was asked for. */
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
    const recording = options.record === undefined ? undefined : new RecordingTransport(transport, redactor());
    if (recording !== undefined) transport = recording;
    if (options.trace) transport = new TracingTransport(transport, options.traceSink, redactor());
    if (options.trace) options.traceSink(`# connect ${readerName} ATR ${toHex(card.atr)} (${card.protocol})`);
    const startedAt = new Date();
    return {
      readerName,
      card,
      transport,
      channel: new ApduChannel(transport),
      async close() {
        try {
          // A wedged reader may not answer the disconnect either: the same deadline as an exchange.
          await withDeadline(card.disconnect('reset'), options.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS, `disconnect from ${readerName}`);
          if (options.trace) options.traceSink(`# disconnect ${readerName}`);
        } finally {
          service.close();
          if (recording !== undefined && options.record !== undefined) {
            const header = recordHeader({ readerName, atr: card.atr, startedAt });
            await writeFileAtomic(options.record, `${header}${recording.transcript()}`, { mode: 0o644 });
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

/** Reader names come from the PC/SC stack: keep them on their comment line. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]/g, '?');

/**
 * The comment lines a `--record` transcript starts with: enough to tell where it came from, and how to
 * read its `..` bytes.
 */
export function recordHeader(source: { readerName: string; atr: Uint8Array; startedAt: Date }): string {
  return [
    `# twincard ${twincardVersion()} session transcript (--record)`,
    `# reader: ${oneLine(source.readerName)}`,
    `# ATR: ${toHex(source.atr)}`,
    `# date: ${source.startedAt.toISOString()}`,
    "# secrets are redacted: each '..' is a byte not recorded; a replay accepts any byte there in a command",
    '# and returns 00 for it in a response (src/readers/transcript.ts)',
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

export function traceEnabled(flag: boolean | undefined): boolean {
  return flag === true || process.env['TWINCARD_TRACE'] === '1';
}
