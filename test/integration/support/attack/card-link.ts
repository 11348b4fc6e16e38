/**
 * One virtual card as a malicious host holds it: raw commands through pcsclite -> pcscd -> vpcd -> jCardSim,
 * every APDU and answer written to a shared transcript (so a failing sequence can be replayed by eye), any
 * status word returned rather than thrown, and a "torn" send: the card processes the command's last APDU
 * and is pulled before its answer comes back, then put back and reconnected.
 */
import { ApduChannel, toHex, type ApduTransport, type CommandApdu } from '../../../../src/apdu/index.js';
import type { PcscCard, PcscService } from '../../../../src/readers/index.js';
import { control, insertCard, waitPresence } from '../backup-cards.js';
import { readerForCard } from '../sim.js';
import { swHex } from './wire.js';

/** Every exchange of a test, across cards, in order. */
export class Transcript {
  readonly #lines: string[] = [];

  note(line: string): void {
    this.#lines.push(line);
  }

  clear(): void {
    this.#lines.length = 0;
  }

  get length(): number {
    return this.#lines.length;
  }

  /** The last `max` lines (a failing run's tail is what explains it). */
  text(max = 400): string {
    const lines = this.#lines.length > max ? ['...', ...this.#lines.slice(-max)] : this.#lines;
    return lines.join('\n');
  }
}

export interface Reply {
  readonly sw: number;
  readonly data: Uint8Array;
}

/** A reply's status word as the tests compare it: `9000`, `6985`. */
export function sw(reply: Reply): string {
  return swHex(reply.sw);
}

const CHAINING_BIT = 0x10;
const INS_GET_RESPONSE = 0xc0;

/** Logs each exchange, and arms the fixture's pull-after-next just before a command's final block when asked. */
class TappedTransport implements ApduTransport {
  tearArmed = false;
  /** When set, exchanges are not written to the transcript (the invariant checks' READs). */
  quiet = false;
  apdus = 0;
  /** When set, every command APDU sent (each block, each GET RESPONSE), byte for byte: what the field carries. */
  recording: Uint8Array[] | undefined;

  constructor(
    private readonly inner: () => PcscCard,
    private readonly k: number,
    private readonly transcript: Transcript,
  ) {}

  async transmit(apdu: Uint8Array): Promise<Uint8Array> {
    const finalBlock = (apdu[0]! & CHAINING_BIT) === 0 && apdu[1] !== INS_GET_RESPONSE;
    if (this.tearArmed && finalBlock) {
      this.tearArmed = false;
      await control(this.k, 'pull-after-next');
      this.transcript.note(`  card ${this.k} (pull-after-next armed: the card runs the next APDU, its answer is lost)`);
    }
    this.apdus += 1;
    this.recording?.push(apdu.slice());
    const shown = toHex(apdu);
    try {
      const response = await this.inner().transmit(apdu);
      if (!this.quiet) this.transcript.note(`  card ${this.k} => ${shown}\n  card ${this.k} <= ${toHex(response)}`);
      return response;
    } catch (error) {
      this.transcript.note(
        `  card ${this.k} => ${shown}\n  card ${this.k} <= (no answer: ${error instanceof Error ? error.message : String(error)})`,
      );
      throw error;
    }
  }
}

export class CardLink {
  #pcsc: PcscCard | undefined;
  readonly #transport: TappedTransport;
  readonly #channel: ApduChannel;

  private constructor(
    private readonly service: PcscService,
    readonly k: number,
    private readonly transcript: Transcript,
  ) {
    this.#transport = new TappedTransport(() => this.#card(), k, transcript);
    this.#channel = new ApduChannel(this.#transport);
  }

  /** Connects to test card k (exclusive: nothing else talks to it meanwhile). */
  static async open(service: PcscService, k: number, transcript: Transcript): Promise<CardLink> {
    const link = new CardLink(service, k, transcript);
    await link.#connect();
    return link;
  }

  /** APDUs sent so far (blocks and GET RESPONSE included). */
  get apdus(): number {
    return this.#transport.apdus;
  }

  /** Starts keeping every command APDU this card is sent (quiet ones too). */
  startRecording(): void {
    this.#transport.recording = [];
  }

  /** The command APDUs sent since startRecording, and recording stops. */
  stopRecording(): Uint8Array[] {
    const sent = this.#transport.recording ?? [];
    this.#transport.recording = undefined;
    return sent;
  }

  /** One command (chaining both ways done by the channel); any status word comes back. */
  async send(name: string, command: CommandApdu): Promise<Reply> {
    this.transcript.note(`card ${this.k}: ${name}`);
    const { sw, data } = await this.#channel.send(command);
    this.transcript.note(`card ${this.k}: ${name} -> ${swHex(sw)}`);
    return { sw, data };
  }

  /** Like send, but kept out of the transcript: the READs of the checks would bury the sequence under test. */
  async sendQuietly(command: CommandApdu): Promise<Reply> {
    this.#transport.quiet = true;
    try {
      return await this.#channel.send(command);
    } finally {
      this.#transport.quiet = false;
    }
  }

  /**
   * The command reaches the card, which runs it to the end, but the answer never arrives: the card is pulled
   * (fixture pull-after-next before the final block), put back and reconnected. The card was reset: its
   * selection and access-code verification are gone. Throws if the answer did arrive (no tear happened).
   */
  async sendTorn(name: string, command: CommandApdu): Promise<void> {
    this.transcript.note(`card ${this.k}: ${name} (torn)`);
    this.#transport.tearArmed = true;
    const outcome = await this.#channel.send(command).then(
      (r) => r,
      () => undefined,
    );
    this.#transport.tearArmed = false;
    if (outcome !== undefined) throw new Error(`card ${this.k}: ${name} was answered (${swHex(outcome.sw)}): the tear did not happen`);
    await this.#pcsc?.disconnect('leave').catch(() => undefined); // LEAVE: see insertCard on RESET after a pull
    this.#pcsc = undefined;
    await waitPresence(this.service, this.k, false);
    await insertCard(this.service, this.k);
    await this.#connect();
    this.transcript.note(`card ${this.k}: put back and reconnected`);
  }

  async close(): Promise<void> {
    await this.#pcsc?.disconnect('leave').catch(() => undefined);
    this.#pcsc = undefined;
  }

  async #connect(): Promise<void> {
    const reader = readerForCard(this.k);
    await this.service.waitForCard(reader, { timeoutMs: 10_000 });
    this.#pcsc = await this.service.connect(reader, { share: 'exclusive', protocol: 'any' });
  }

  #card(): PcscCard {
    if (this.#pcsc === undefined) throw new Error(`card ${this.k} is not connected`);
    return this.#pcsc;
  }
}
