/**
 * A deadline on every exchange: a wedged reader (a driver that never calls back, a card that stopped
 * answering without the reader noticing) must end in a clear error, not a process that hangs forever.
 * @module
 */
import { checkInt } from './_checks.js';
import type { ApduTransport } from './channel.js';

/** Generous: the slowest legitimate twincard command (a 1+2 BACKUP_EXPORT on a slow card) takes a few seconds. */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 30_000;

/** The transport did not answer in time; the card's state after the command is unknown. */
export class ExchangeTimeoutError extends Error {
  override readonly name = 'ExchangeTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, detail = '') {
    super(
      `no answer from the card after ${(timeoutMs / 1000).toFixed(1)} s${detail}: the reader or the card is stuck; ` +
        'remove the card (or reconnect the reader) and try again',
    );
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Wraps a transport with a deadline per exchange. After a timeout the inner exchange may still be pending
 * and its outcome is unknown, so this transport refuses every later exchange instead of sending into it.
 * @example new ApduChannel(new TimeoutTransport(card, 30_000))
 * @throws RangeError for a timeout that is not an integer from 1 ms to 24 h
 */
export class TimeoutTransport implements ApduTransport {
  readonly #inner: ApduTransport;
  readonly #timeoutMs: number;
  #timedOut = false;

  constructor(inner: ApduTransport, timeoutMs: number = DEFAULT_EXCHANGE_TIMEOUT_MS) {
    this.#inner = inner;
    this.#timeoutMs = checkInt('TimeoutTransport: timeoutMs', timeoutMs, 1, 86_400_000);
  }

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.#timedOut) {
      throw new ExchangeTimeoutError(this.#timeoutMs, ' on an earlier command (no further commands are sent)');
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#timedOut = true;
        reject(new ExchangeTimeoutError(this.#timeoutMs));
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#inner.transmit(apdu), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}
