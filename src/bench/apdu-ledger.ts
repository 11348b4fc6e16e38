/**
 * Counting what crosses the reader during a benchmark: every APDU on the wire (a command chain's
 * blocks and the GET RESPONSE commands of a response chain each count once, because each is one
 * round trip through pcscd and the card), its size in both directions, its status word and how long
 * the transport took to answer it. The channel's chaining logic sits ABOVE the transport, so a
 * wrapper around the transport sees exactly the wire traffic.
 *
 * Only sizes, header bytes and status words are kept, never the data: the ledger of a backup would
 * otherwise hold access codes and wallet blobs.
 * @module
 */
import { INS_GET_RESPONSE, type ApduTransport } from '../apdu/index.js';

/** What one wire APDU was, seen from its header. */
export type ExchangeKind =
  /** A command of its own (or the last block of a chain: the card executes the command on it). */
  | 'command'
  /** A non-final block of an ISO command chain (CLA bit 0x10 set). */
  | 'chain-block'
  /** GET RESPONSE (INS C0) fetching the rest of a 61xx answer. */
  | 'get-response';

/** One wire APDU. */
export interface ExchangeRecord {
  /** The reader it went to. */
  readonly reader: string;
  /** The step it belongs to (whatever label the ledger had when it was sent). */
  step: string;
  readonly kind: ExchangeKind;
  /** CLA INS P1 P2 as sent: enough to tell commands apart, nothing secret. */
  readonly header: number;
  /** Bytes of the command APDU (header, Lc, data, Le). */
  readonly commandBytes: number;
  /** Bytes of the response APDU (data and SW1 SW2); 0 when the transport threw. */
  readonly responseBytes: number;
  /** The status word, or -1 when the transport threw. */
  readonly sw: number;
  /** Time inside transmit(), in ms. */
  readonly ms: number;
  /** When transmit() was called (performance.now()), ms. */
  readonly startedAt: number;
}

/** Totals over some exchanges. */
export interface ApduTotals {
  /** Every wire APDU: commands, chain blocks and GET RESPONSEs. */
  readonly apdus: number;
  readonly commands: number;
  readonly chainBlocks: number;
  readonly getResponses: number;
  /** Host to card: command APDU bytes. */
  readonly bytesOut: number;
  /** Card to host: response APDU bytes, status words included. */
  readonly bytesIn: number;
  /** Time inside transmit(), summed, in ms. */
  readonly transmitMs: number;
}

const CHAINING_BIT = 0x10;

/** Classifies a command APDU by its header (ISO 7816-4: chaining bit of a first-interindustry or proprietary CLA). */
export function classifyCommand(apdu: Uint8Array): ExchangeKind {
  const cla = apdu[0] ?? 0;
  const ins = apdu[1] ?? 0;
  if (ins === INS_GET_RESPONSE) return 'get-response';
  // Further-interindustry classes (4x..7x) carry the chaining bit in the same place; 0xFF is invalid.
  if (cla !== 0xff && (cla & CHAINING_BIT) !== 0) return 'chain-block';
  return 'command';
}

/**
 * The exchanges of one measured run, labelled by step.
 * @example
 * const ledger = new ApduLedger();
 * const transport = ledger.wrap(pcscCard, 'Virtual PCD 00 00');
 * ledger.step = 'export-primary';
 * // ... run the step over `transport` ...
 * ledger.totals(ledger.exchanges.filter((e) => e.step === 'export-primary'));
 */
export class ApduLedger {
  /** The label the next exchanges get. */
  step = '';
  readonly #exchanges: ExchangeRecord[] = [];

  /** Every exchange so far, in order. */
  get exchanges(): readonly ExchangeRecord[] {
    return this.#exchanges;
  }

  /** A transport that records every APDU sent through `inner` under `reader`, then passes it on unchanged. */
  wrap(inner: ApduTransport, reader: string): ApduTransport {
    return {
      transmit: async (apdu: Uint8Array): Promise<Uint8Array> => {
        const started = performance.now();
        const base = {
          reader,
          step: this.step,
          kind: classifyCommand(apdu),
          header: apdu.length >= 4 ? ((apdu[0]! << 24) | (apdu[1]! << 16) | (apdu[2]! << 8) | apdu[3]!) >>> 0 : 0,
          commandBytes: apdu.length,
          startedAt: started,
        };
        let response: Uint8Array;
        try {
          response = await inner.transmit(apdu);
        } catch (error) {
          this.#exchanges.push({ ...base, responseBytes: 0, sw: -1, ms: performance.now() - started });
          throw error;
        }
        const n = response.length;
        const sw = n >= 2 ? (response[n - 2]! << 8) | response[n - 1]! : -1;
        this.#exchanges.push({ ...base, responseBytes: n, sw, ms: performance.now() - started });
        return response;
      },
    };
  }

  /** Relabels the exchanges from index `from` on (a step turned out to be another than announced). */
  relabel(from: number, step: string): void {
    for (let i = from; i < this.#exchanges.length; i++) this.#exchanges[i]!.step = step;
  }

  /** Totals over `exchanges` (default: all). */
  totals(exchanges: readonly ExchangeRecord[] = this.#exchanges): ApduTotals {
    return sumExchanges(exchanges);
  }
}

export function sumExchanges(exchanges: readonly ExchangeRecord[]): ApduTotals {
  let commands = 0;
  let chainBlocks = 0;
  let getResponses = 0;
  let bytesOut = 0;
  let bytesIn = 0;
  let transmitMs = 0;
  for (const e of exchanges) {
    if (e.kind === 'command') commands++;
    else if (e.kind === 'chain-block') chainBlocks++;
    else getResponses++;
    bytesOut += e.commandBytes;
    bytesIn += e.responseBytes;
    transmitMs += e.ms;
  }
  return { apdus: exchanges.length, commands, chainBlocks, getResponses, bytesOut, bytesIn, transmitMs };
}
