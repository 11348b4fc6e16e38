/**
 * Commands to one virtual card's control socket (fixtures VirtualCard: one line in, one line out), for
 * `twincard conformance --sim-reset`: find the virtual card in a reader, and wipe it or change its applet.
 * @module
 */
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { listCardIndices, simReaderName } from './sim-status.js';

class SimControlError extends Error {
  override readonly name = 'SimControlError';
}

/** The index of the virtual card in `readerName`, or undefined when that reader is no card of this sim. */
export function simCardForReader(runDir: string, readerName: string): number | undefined {
  return listCardIndices(runDir).find((k) => simReaderName(k) === readerName);
}

/**
 * Sends one control line to virtual card `index` and returns its answer.
 * @throws SimControlError when the card does not answer within 10 s or answers `error: ...`.
 * @example await simControl(runDir, 3, 'wipe') // 'ok wiped'
 */
export function simControl(runDir: string, index: number, line: string): Promise<string> {
  const path = join(runDir, `card-${index}.sock`);
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = createConnection({ path });
    const finish = (error: Error | undefined, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error !== undefined) reject(error);
      else resolve(value ?? '');
    };
    const timer = setTimeout(() => finish(new SimControlError(`virtual card ${index}: no answer to '${line}' within 10 s`)), 10_000);
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (!answer.includes('\n')) return;
      const text = answer.trim();
      if (text.startsWith('ok')) finish(undefined, text);
      else finish(new SimControlError(`virtual card ${index}: '${line}' answered '${text}'`));
    });
    socket.on('error', (e) => finish(new SimControlError(`virtual card ${index}: control socket ${path}: ${e.message}`)));
  });
}
