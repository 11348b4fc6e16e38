/**
 * The bare `pcsclite` binding, with nothing of twincard's own transport in between: for tests that must see
 * exactly what pcscd and the card do with bytes a host gets wrong (twincard's ApduChannel would refuse to build
 * a malformed APDU in the first place).
 */
import pcsclite, { type CardReader, type PCSCLite } from 'pcsclite';

/** 65536 data bytes + SW: no guessing of response sizes (a too-small buffer is an error of its own). */
const RESPONSE_BUFFER = 65538;

export interface RawCard {
  /** The card's whole answer (data and SW), or the PC/SC error pcscd gave instead. */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Connects (exclusive, T=1) to the card in `readerName`, waiting up to `timeoutMs` for pcscd to list the reader. */
export function openRawCard(readerName: string, timeoutMs = 10_000): Promise<RawCard> {
  const pcsc: PCSCLite = pcsclite();
  pcsc.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pcsc.close();
      reject(new Error(`pcscd did not list ${readerName} within ${timeoutMs} ms`));
    }, timeoutMs);
    pcsc.on('reader', (reader: CardReader) => {
      reader.on('error', () => undefined);
      if (reader.name !== readerName) return;
      reader.once('status', () => {
        reader.connect({ share_mode: reader.SCARD_SHARE_EXCLUSIVE, protocol: reader.SCARD_PROTOCOL_T1 }, (error, protocol) => {
          clearTimeout(timer);
          if (error || protocol === undefined) {
            pcsc.close();
            reject(error ?? new Error(`connect to ${readerName}: no protocol`));
            return;
          }
          resolve(rawCard(pcsc, reader, protocol));
        });
      });
    });
  });
}

function rawCard(pcsc: PCSCLite, reader: CardReader, protocol: number): RawCard {
  return {
    transmit: (command) =>
      new Promise((resolve, reject) => {
        reader.transmit(Buffer.from(command), RESPONSE_BUFFER, protocol, (error, response) => {
          if (error || response === undefined) reject(error ?? new Error('transmit: no response'));
          else resolve(new Uint8Array(response));
        });
      }),
    close: () =>
      new Promise((resolve) => {
        reader.disconnect(reader.SCARD_LEAVE_CARD, () => {
          pcsc.close();
          resolve();
        });
      }),
  };
}
