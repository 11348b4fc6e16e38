/**
 * Where the backup's cards come from. The runner asks a {@link CardSource} for "the next card
 * presented" and recognises it itself (READ); the source only decides WHICH card to offer and WHEN:
 *
 * - tap mode ({@link PcscCardSource} with `mode: 'tap'`): a person taps cards on one reader (or on
 *   several). A card is offered once per insertion: after the runner used or refused it, the next
 *   offer needs that card taken away and a card presented again. Waiting is event-driven (pcscd
 *   reader events), never a polling loop.
 * - bench mode (`mode: 'bench'`): every card already sits in its own reader; the source offers the
 *   readers' cards in turn, skips readers whose card the runner already identified as not wanted,
 *   and fails at once when none of them is the card wanted: no prompt, nobody to answer it.
 *
 * A card lost mid-step (pulled, or its exchange broke) is offered again as soon as it is back.
 * @module
 */
import { toHex, type ApduTransport } from '../apdu/index.js';
import { PcscError, PcscService, type PcscCard } from '../readers/index.js';
import { CardWaitTimeoutError } from '../readers/index.js';

/** What the runner wants next. */
export interface CardRequest {
  /** New for every step; the same while the runner asks again for one step (after a refusal or a lost card). */
  readonly id: number;
  /** For a person: "Tap the primary card". */
  readonly prompt: string;
  /** The ids that would be accepted, when the step knows them (export-primary once the primary is known, import). */
  readonly wantedCardIds?: readonly Uint8Array[];
  /** Ids that are certainly not wanted (the cards this backup already holds, for a prepare step). */
  readonly unwantedCardIds: readonly Uint8Array[];
}

/** A card handed to the runner. */
export interface PresentedCard {
  readonly transport: ApduTransport;
  /** Where it is (a reader name), for messages. */
  readonly where: string;
  /** The runner read this card's id (sources that hold several cards use it to skip wrong ones). */
  identified(cardId: Uint8Array): void;
  /**
   * The runner is done with it: `used` (the step ran), `refused` (not the card wanted), `lost` (it
   * went away mid-step: offer it again when it is back). Never throws.
   */
  release(outcome: 'used' | 'refused' | 'lost'): Promise<void>;
}

export interface CardSource {
  /** Whether a person presents the cards (prompts make sense) or they are all in readers already. */
  readonly interactive: boolean;
  /**
   * The next card for `request`.
   * @throws CardWaitTimeoutError when nothing usable came in time; NoMatchingCardError (bench mode)
   *   when every card present was refused; PcscError; the signal's reason when aborted.
   */
  next(request: CardRequest, signal?: AbortSignal): Promise<PresentedCard>;
  close(): Promise<void>;
}

/** Bench mode: none of the cards in the readers is the one wanted. */
export class NoMatchingCardError extends Error {
  override readonly name = 'NoMatchingCardError';
  /**
   * @param refusals why each card offered for this request was refused (the runner adds them: a source
   *   does not read cards)
   */
  constructor(
    readonly prompt: string,
    readonly readers: readonly string[],
    readonly refusals: readonly string[] = [],
  ) {
    super(
      `${prompt}: none of the cards in ${readers.map((r) => JSON.stringify(r)).join(', ')} is the card wanted` +
        refusals.map((r) => `\n  ${r}`).join(''),
    );
  }
}

export interface PcscCardSourceOptions {
  readonly mode: 'tap' | 'bench';
  /** How long to wait for a card each time one is needed, in ms. */
  readonly waitMs: number;
  /** Wraps each connected card's transport (an APDU trace, a recorder, a test's fault injector). */
  readonly wrap?: (card: PcscCard, reader: string) => ApduTransport;
}

interface ReaderSlot {
  /** The card present now was already offered (tap mode: it needs taking away before it counts again). */
  offered: boolean;
  /** Bench mode: the request this card was last refused for. */
  refusedFor?: number;
  /** The id of the card present, once the runner read it; forgotten when the card leaves. */
  cardId?: string;
  /** The card was lost mid-step: give pcscd a moment to report its removal before offering it again. */
  lostAt?: number;
}

/** How long a lost card that pcscd still shows as present is left for its removal to be reported. */
const LOST_SETTLE_MS = 300;

/** Cards from PC/SC readers, in tap or bench mode. */
export class PcscCardSource implements CardSource {
  readonly #service: PcscService;
  readonly #readers: readonly string[];
  readonly #options: PcscCardSourceOptions;
  readonly #slots = new Map<string, ReaderSlot>();
  readonly #unsubscribe: () => void;
  #connected: PcscCard | undefined;

  /**
   * @param service an open PC/SC context (the source does not close it)
   * @param readers the exact reader names to use (resolve user input with resolveReader first)
   */
  constructor(service: PcscService, readers: readonly string[], options: PcscCardSourceOptions) {
    if (readers.length === 0) throw new RangeError('a card source needs at least one reader');
    this.#service = service;
    this.#readers = [...readers];
    this.#options = options;
    for (const reader of readers) this.#slots.set(reader, { offered: false });
    // A card taken away counts again when it comes back; what we knew about it is void.
    this.#unsubscribe = service.on('card-removed', (state) => {
      const slot = this.#slots.get(state.name);
      if (slot !== undefined) this.#slots.set(state.name, { offered: false });
    });
  }

  get interactive(): boolean {
    return this.#options.mode === 'tap';
  }

  async next(request: CardRequest, signal?: AbortSignal): Promise<PresentedCard> {
    const deadline = Date.now() + this.#options.waitMs;
    for (;;) {
      signal?.throwIfAborted();
      const reader = this.#pick(request);
      if (reader !== undefined) {
        const presented = await this.#connect(reader, request.id);
        if (presented !== undefined) return presented;
        continue; // it left between the status report and the connect: look again
      }
      if (this.#options.mode === 'bench' && this.#readers.every((r) => this.#present(r) && this.#slots.get(r)?.lostAt === undefined)) {
        throw new NoMatchingCardError(request.prompt, this.#readers);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new CardWaitTimeoutError(this.#readers.join(', '), this.#options.waitMs);
      await this.#waitForChange(Math.min(left, this.#settleDelay()), signal);
    }
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    await this.#disconnect();
  }

  /** The reader whose card to offer for this request, if any. */
  #pick(request: CardRequest): string | undefined {
    const now = Date.now();
    const wanted = request.wantedCardIds?.map(toHex);
    const unwanted = new Set(request.unwantedCardIds.map(toHex));
    const candidates: string[] = [];
    for (const reader of this.#readers) {
      const slot = this.#slots.get(reader)!;
      if (!this.#present(reader)) continue;
      if (slot.lostAt !== undefined) {
        if (now - slot.lostAt < LOST_SETTLE_MS) continue;
        // Still there after the settle time: the exchange broke but the card stayed. Offer it again.
        this.#slots.set(reader, { offered: false });
        candidates.push(reader);
        continue;
      }
      if (this.#options.mode === 'tap') {
        if (!slot.offered) candidates.push(reader);
        continue;
      }
      if (slot.refusedFor === request.id) continue;
      if (slot.cardId !== undefined && (unwanted.has(slot.cardId) || (wanted !== undefined && !wanted.includes(slot.cardId)))) continue;
      candidates.push(reader);
    }
    // Known-good first: a reader whose card we already know is one of the wanted ones.
    const known = candidates.find((r) => wanted?.includes(this.#slots.get(r)!.cardId ?? '') === true);
    return known ?? candidates[0];
  }

  #present(reader: string): boolean {
    return this.#service.readers().some((r) => r.name === reader && r.cardPresent);
  }

  #settleDelay(): number {
    const lost = [...this.#slots.values()].map((s) => s.lostAt).filter((t): t is number => t !== undefined);
    if (lost.length === 0) return Number.POSITIVE_INFINITY;
    return Math.max(10, Math.min(...lost) + LOST_SETTLE_MS - Date.now());
  }

  async #connect(reader: string, requestId: number): Promise<PresentedCard | undefined> {
    await this.#disconnect();
    let card: PcscCard;
    try {
      card = await this.#service.connect(reader, { share: 'exclusive', protocol: 'any' });
    } catch (error) {
      if (
        error instanceof PcscError &&
        (error.kind === 'no-card' || error.kind === 'card-removed' || error.kind === 'unpowered' || error.kind === 'unresponsive')
      ) {
        this.#slots.set(reader, { offered: false, lostAt: Date.now() });
        return undefined;
      }
      throw error;
    }
    this.#connected = card;
    const slot = this.#slots.get(reader)!;
    slot.offered = true;
    const transport = this.#options.wrap?.(card, reader) ?? card;
    let released = false;
    return {
      transport,
      where: reader,
      identified: (cardId) => {
        this.#slots.get(reader)!.cardId = toHex(cardId);
      },
      release: async (outcome) => {
        if (released) return;
        released = true;
        const current = this.#slots.get(reader)!;
        if (outcome === 'lost') this.#slots.set(reader, { offered: false, lostAt: Date.now() });
        if (outcome === 'refused') current.refusedFor = requestId;
        // A lost card is gone (or its exchange broke): there is nothing to reset, and asking pcscd to reset
        // or unpower a card that left made vpcd miss the card's next insertion (about 1 in 8 times,
        // measured); leaving it does not.
        await this.#disconnect(outcome === 'lost' ? 'leave' : 'reset');
      },
    };
  }

  async #disconnect(disposition: 'reset' | 'leave' = 'reset'): Promise<void> {
    const card = this.#connected;
    this.#connected = undefined;
    if (card === undefined) return;
    // Reset: a card left powered would keep its access code verified for whoever connects next.
    await card.disconnect(disposition).catch(() => undefined);
  }

  /** Resolves on the next reader event (or after `ms`, or rejects when aborted). */
  #waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const offs: Array<() => void> = [];
      const done = () => {
        clearTimeout(timer);
        for (const off of offs) off();
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        for (const off of offs) off();
        // The contract: reject with the signal's own reason, as signal.throwIfAborted() does.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- see above
        reject(signal?.reason);
      };
      const timer = setTimeout(done, Number.isFinite(ms) ? ms : 2 ** 31 - 1);
      offs.push(this.#service.on('card-inserted', done), this.#service.on('card-removed', done), this.#service.on('reader-added', done));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
