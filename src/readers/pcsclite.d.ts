/** Types for the `pcsclite` native binding (1.0.x): callbacks only; src/readers/pcsc.ts wraps them once. */
declare module 'pcsclite' {
  import { EventEmitter } from 'node:events';

  export interface ReaderStatus {
    readonly state: number;
    readonly atr?: Buffer;
  }

  export interface CardReader extends EventEmitter {
    readonly name: string;
    readonly connected: boolean;
    readonly state: number;
    readonly SCARD_SHARE_SHARED: number;
    readonly SCARD_SHARE_EXCLUSIVE: number;
    readonly SCARD_SHARE_DIRECT: number;
    readonly SCARD_PROTOCOL_T0: number;
    readonly SCARD_PROTOCOL_T1: number;
    readonly SCARD_PROTOCOL_RAW: number;
    readonly SCARD_STATE_UNAWARE: number;
    readonly SCARD_STATE_IGNORE: number;
    readonly SCARD_STATE_CHANGED: number;
    readonly SCARD_STATE_UNKNOWN: number;
    readonly SCARD_STATE_UNAVAILABLE: number;
    readonly SCARD_STATE_EMPTY: number;
    readonly SCARD_STATE_PRESENT: number;
    readonly SCARD_STATE_ATRMATCH: number;
    readonly SCARD_STATE_EXCLUSIVE: number;
    readonly SCARD_STATE_INUSE: number;
    readonly SCARD_STATE_MUTE: number;
    readonly SCARD_LEAVE_CARD: number;
    readonly SCARD_RESET_CARD: number;
    readonly SCARD_UNPOWER_CARD: number;
    readonly SCARD_EJECT_CARD: number;
    connect(options: { share_mode?: number; protocol?: number }, cb: (err: Error | null | undefined, protocol?: number) => void): void;
    disconnect(disposition: number, cb: (err: Error | null | undefined) => void): void;
    transmit(data: Buffer, resLen: number, protocol: number, cb: (err: Error | null | undefined, data?: Buffer) => void): void;
    close(): void;
    on(event: 'status', listener: (status: ReaderStatus) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'end', listener: () => void): this;
  }

  export interface PCSCLite extends EventEmitter {
    readonly readers: Readonly<Record<string, CardReader>>;
    close(): void;
    on(event: 'reader', listener: (reader: CardReader) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  export default function pcsclite(): PCSCLite;
}
