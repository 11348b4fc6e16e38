/**
 * PC/SC through the `pcsclite` binding (libpcsclite -> pcscd): readers, card events, connect, transmit.
 * The binding is callback-based and reports errors as text; this module wraps it once into promises and
 * typed errors, keeps listener exceptions out of the native callbacks, and always lets the process exit.
 */
import { EventEmitter } from 'node:events';
import pcsclite, { type CardReader, type PCSCLite, type ReaderStatus } from 'pcsclite';
import { log } from '../log.js';
import { ConcurrentExchangeError, type ApduTransport } from '../apdu/index.js';
import { CardWaitTimeoutError, PcscError, toPcscError } from './errors.js';

export interface ReaderState {
  readonly name: string;
  readonly cardPresent: boolean;
  readonly atr?: Uint8Array;
}

export type ReaderEvent = 'reader-added' | 'reader-removed' | 'card-inserted' | 'card-removed';
export type ShareMode = 'shared' | 'exclusive';
export type ProtocolChoice = 't0' | 't1' | 'any';
export type Disposition = 'leave' | 'reset' | 'unpower' | 'eject';

export interface ConnectOptions {
  readonly share: ShareMode;
  readonly protocol: ProtocolChoice;
  /** How long a sharing violation is retried before it is reported (default 2 s; 0: report at once). */
  readonly sharingViolationRetryMs?: number;
}

interface TrackedReader {
  readonly reader: CardReader;
  /** undefined until the first status report: presence is unknown, not absent. */
  status?: { present: boolean; atr?: Uint8Array };
}

/** Response buffers: 256 data + SW for short APDUs, 65536 + SW for extended (no guessing in between). */
const SHORT_RESPONSE_BUFFER = 258;
const SHARING_VIOLATION_RETRY_MS = 2000;
const EXTENDED_RESPONSE_BUFFER = 65538;
const INSUFFICIENT_BUFFER = 0x80100008;

export class PcscService {
  readonly #pcsc: PCSCLite;
  readonly #readers = new Map<string, TrackedReader>();
  readonly #events = new EventEmitter();
  #closed = false;

  private constructor(pcsc: PCSCLite) {
    this.#pcsc = pcsc;
    // Errors after start (e.g. "no readers" while listing) are states, not crashes.
    pcsc.on('error', (error) => log('pcsc', `context: ${toPcscError(error, 'list readers').message}`));
    pcsc.on('reader', (reader) => this.#track(reader));
  }

  /**
   * Opens one PC/SC context.
   * @throws PcscError kind 'service-unavailable' when pcscd is not reachable
   */
  static open(): PcscService {
    try {
      return new PcscService(pcsclite());
    } catch (error) {
      throw toPcscError(error, 'connect to pcscd');
    }
  }

  /** The readers known now, with card presence and ATR as last reported. */
  readers(): ReaderState[] {
    return [...this.#readers.entries()].map(([name, tracked]) => snapshot(name, tracked));
  }

  /** @returns a function that removes the listener */
  on(event: ReaderEvent, listener: (reader: ReaderState) => void): () => void {
    const safe = (state: ReaderState) => {
      try {
        listener(state);
      } catch (error) {
        log('pcsc', `a ${event} listener threw: ${String(error)}`);
      }
    };
    this.#events.on(event, safe);
    return () => this.#events.off(event, safe);
  }

  /**
   * Waits until the reader list is known: at least one reader, each with its first status report.
   * @returns the readers ([] if none appeared in time)
   */
  async waitForReaders(options: { timeoutMs: number }): Promise<ReaderState[]> {
    const settled = () => this.#readers.size > 0 && [...this.#readers.values()].every((t) => t.status !== undefined);
    if (!settled()) {
      await this.#until(settled, options.timeoutMs, ['reader-added', 'card-inserted', 'card-removed', 'status']);
    }
    return this.readers();
  }

  /**
   * Waits for a card in `reader`, event-driven.
   * @param fresh a card already present does not count: it must be removed and presented again (a new tap)
   * @returns the card's ATR
   * @throws CardWaitTimeoutError
   */
  async waitForCard(reader: string, options: { timeoutMs: number; fresh?: boolean }): Promise<Uint8Array> {
    const deadline = Date.now() + options.timeoutMs;
    const present = () => this.#readers.get(reader)?.status?.present === true;
    if (options.fresh === true) {
      await this.#until(() => this.#readers.get(reader)?.status?.present === false, options.timeoutMs, ['card-removed', 'status']);
    }
    const ok = present() || (await this.#until(present, Math.max(0, deadline - Date.now()), ['card-inserted', 'reader-added', 'status']));
    const atr = this.#readers.get(reader)?.status?.atr;
    if (!ok || atr === undefined) throw new CardWaitTimeoutError(reader, options.timeoutMs);
    return atr;
  }

  /** Connects to the card in `reader`. */
  async connect(reader: string, options: ConnectOptions): Promise<PcscCard> {
    // A context opened just now learns its readers asynchronously: give it a moment before saying no.
    if (!this.#readers.has(reader)) await this.waitForReaders({ timeoutMs: 1000 });
    const tracked = this.#readers.get(reader);
    if (tracked === undefined) {
      throw new PcscError(`connect: no reader named ${JSON.stringify(reader)}`, 0x80100009, 'reader-unavailable');
    }
    const r = tracked.reader;
    const share = options.share === 'shared' ? r.SCARD_SHARE_SHARED : r.SCARD_SHARE_EXCLUSIVE;
    const protocol =
      options.protocol === 't0'
        ? r.SCARD_PROTOCOL_T0
        : options.protocol === 't1'
          ? r.SCARD_PROTOCOL_T1
          : r.SCARD_PROTOCOL_T0 | r.SCARD_PROTOCOL_T1;
    if (r.connected) {
      // The binding keeps one handle per reader and answers connect() on a connected handle with no
      // protocol at all; a handle left behind by a card that was pulled must be dropped first.
      await new Promise<void>((resolve) => r.disconnect(r.SCARD_LEAVE_CARD, () => resolve()));
    }
    const attempt = (): Promise<number> =>
      new Promise<number>((resolve, reject) => {
        r.connect({ share_mode: share, protocol }, (error, chosen) => {
          if (error) reject(toPcscError(error, `connect to the card in ${reader}`));
          else resolve(chosen ?? protocol);
        });
      });
    // pcscd frees the card of a client that died holding it exclusively only once it notices the closed socket,
    // so the next process (`backup --resume` right after a crash) can meet the dead holder for a moment: retry a
    // sharing violation for a short while before reporting it.
    const deadline = Date.now() + (options.sharingViolationRetryMs ?? SHARING_VIOLATION_RETRY_MS);
    for (;;) {
      try {
        return new PcscCard(r, tracked.status?.atr ?? new Uint8Array(), await attempt());
      } catch (error) {
        if (!(error instanceof PcscError) || error.kind !== 'sharing-violation' || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** Releases the context. Idempotent; afterwards nothing keeps the process alive. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { reader } of this.#readers.values()) {
      try {
        reader.close();
      } catch {
        // already gone
      }
    }
    this.#readers.clear();
    try {
      this.#pcsc.close();
    } catch {
      // closing emits a harmless "Command cancelled"; nothing to do
    }
    this.#events.removeAllListeners();
  }

  #track(reader: CardReader): void {
    const tracked: TrackedReader = { reader };
    this.#readers.set(reader.name, tracked);
    reader.on('error', (error) => log('pcsc', `${reader.name}: ${toPcscError(error, 'reader status').message}`));
    reader.on('end', () => {
      this.#readers.delete(reader.name);
      this.#emit('reader-removed', { name: reader.name, cardPresent: false });
    });
    reader.on('status', (status: ReaderStatus) => {
      const present = (status.state & reader.SCARD_STATE_PRESENT) !== 0 && (status.state & reader.SCARD_STATE_MUTE) === 0;
      const before = tracked.status?.present;
      tracked.status =
        present && status.atr !== undefined && status.atr.length > 0
          ? { present: true, atr: new Uint8Array(status.atr) }
          : { present: false };
      const state = snapshot(reader.name, tracked);
      if (present && before !== true) this.#emit('card-inserted', state);
      if (!present && before === true) this.#emit('card-removed', state);
      this.#events.emit('status', state);
    });
    this.#emit('reader-added', { name: reader.name, cardPresent: false });
  }

  #emit(event: ReaderEvent, state: ReaderState): void {
    log('pcsc', `${event}: ${state.name}`);
    this.#events.emit(event, state);
  }

  /** Resolves true as soon as `condition` holds after one of `events`, false after `timeoutMs`. */
  #until(condition: () => boolean, timeoutMs: number, events: readonly string[]): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        done(true);
      };
      const done = (value: boolean) => {
        clearTimeout(timer);
        for (const e of events) this.#events.off(e, check);
        resolve(value);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      for (const e of events) this.#events.on(e, check);
      check();
    });
  }
}

function snapshot(name: string, tracked: TrackedReader): ReaderState {
  const atr = tracked.status?.atr;
  return atr === undefined
    ? { name, cardPresent: tracked.status?.present === true }
    : { name, cardPresent: tracked.status?.present === true, atr };
}

/** A connected card: raw APDUs in and out, one exchange at a time. */
export class PcscCard implements ApduTransport {
  readonly #reader: CardReader;
  readonly #protocol: number;
  #busy = false;

  constructor(
    reader: CardReader,
    readonly atr: Uint8Array,
    protocol: number,
  ) {
    this.#reader = reader;
    this.#protocol = protocol;
  }

  get reader(): string {
    return this.#reader.name;
  }

  get protocol(): 't0' | 't1' {
    return this.#protocol === this.#reader.SCARD_PROTOCOL_T0 ? 't0' : 't1';
  }

  /**
   * Sends one command APDU and returns `data || SW1 SW2`.
   * @throws PcscError (kind 'card-removed' when the card left mid-exchange); ConcurrentExchangeError on a
   *   concurrent call
   */
  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    if (this.#busy) throw new ConcurrentExchangeError(`transmit to ${this.reader}`);
    this.#busy = true;
    try {
      const extended = apdu.length >= 7 && apdu[4] === 0x00;
      try {
        return await this.#transmit(apdu, extended ? EXTENDED_RESPONSE_BUFFER : SHORT_RESPONSE_BUFFER);
      } catch (error) {
        if (!(error instanceof PcscError) || error.code !== INSUFFICIENT_BUFFER || extended) throw error;
        return await this.#transmit(apdu, EXTENDED_RESPONSE_BUFFER);
      }
    } finally {
      this.#busy = false;
    }
  }

  /** Disconnects, doing to the card exactly what `disposition` says. */
  async disconnect(disposition: Disposition): Promise<void> {
    const r = this.#reader;
    const code =
      disposition === 'leave'
        ? r.SCARD_LEAVE_CARD
        : disposition === 'reset'
          ? r.SCARD_RESET_CARD
          : disposition === 'unpower'
            ? r.SCARD_UNPOWER_CARD
            : r.SCARD_EJECT_CARD;
    await new Promise<void>((resolve, reject) => {
      r.disconnect(code, (error) => (error ? reject(toPcscError(error, `disconnect from ${r.name}`)) : resolve()));
    });
  }

  #transmit(apdu: Uint8Array, bufferSize: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const outgoing = Buffer.from(apdu);
      this.#reader.transmit(outgoing, bufferSize, this.#protocol, (error, data) => {
        outgoing.fill(0); // the binding's copy of a command that may carry an access code
        if (error || data === undefined) {
          reject(toPcscError(error ?? new Error('no response'), `transmit to ${this.reader}`));
        } else if (data.length < 2) {
          // vpcd (and some readers) report success with no bytes when the card went away mid-command:
          // a response without SW1 SW2 is a broken exchange, not an answer.
          reject(
            new PcscError(
              `transmit to ${this.reader}: the card answered ${data.length} ` +
                `bytes, no status word: the exchange broke off (card moved away?)`,
              0x80100016,
              'transaction-failed',
            ),
          );
        } else {
          resolve(new Uint8Array(data));
        }
      });
    });
  }
}
