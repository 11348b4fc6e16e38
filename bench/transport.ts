/**
 * Benchmark: N short APDUs (16-byte echo) through the full stack, with twincard's transport (PcscCard +
 * ApduChannel) and, in the same run and on the same card, with the bare `pcsclite` binding. Prints median and
 * p99 per APDU and the overhead ratio. Needs `scripts/sim.sh up`.
 *
 * The machine may be shared and its load moves within seconds, so the N APDUs of each side are split into
 * --passes alternating passes (bare first, then twincard first, ...) and pooled: a burst of load lands on
 * both sides, not on whichever ran second.
 *
 *   node dist/bench/transport.js [--n 1000] [--passes 4] [--reader "Virtual PCD 00 00"]
 */
import pcsclite from 'pcsclite';
import { ApduChannel, command, fromHex } from '../src/apdu/index.js';
import { PcscService } from '../src/readers/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const total = Number(option('--n', '1000'));
const passes = Number(option('--passes', '4'));
if (!Number.isInteger(total) || total < 1) throw new Error(`--n: a positive integer, not ${option('--n', '')}`);
if (!Number.isInteger(passes) || passes < 1 || total % passes !== 0) throw new Error(`--passes: a positive divisor of --n (${total})`);
/** APDUs timed per pass and side (each pass first sends 50 untimed ones). */
const n = total / passes;
const readerName = option('--reader', 'Virtual PCD 00 00');
const SELECT = fromHex('00A404000AF07477696E63617264FE00');
const ECHO = fromHex('800100001000112233445566778899AABBCCDDEEFF00');

function stats(samples: number[]): { median: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p99: at(0.99) };
}

async function twincard(): Promise<number[]> {
  const service = PcscService.open();
  try {
    const card = await service.connect(readerName, { share: 'exclusive', protocol: 'any' });
    const channel = new ApduChannel(card);
    const echo = command(0x80, 0x01, 0, 0, ECHO.subarray(5, 21), 256);
    await card.transmit(SELECT);
    const samples: number[] = [];
    for (let i = 0; i < n + 50; i++) {
      const t = process.hrtime.bigint();
      const response = await channel.send(echo);
      const dt = Number(process.hrtime.bigint() - t) / 1e6;
      if (response.sw !== 0x9000 || response.data.length !== 16) throw new Error('bad echo');
      if (i >= 50) samples.push(dt); // the first exchanges warm the JIT on both sides
    }
    await card.disconnect('leave');
    return samples;
  } finally {
    service.close();
  }
}

function bare(): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const pcsc = pcsclite();
    // Every reader the context reports gets a status thread of its own: each one must be closed (and its
    // errors heard) or, with many readers, the process either never exits or dies on an unheard
    // "RPC transport error" once the context is closed.
    const readers: { close(): void }[] = [];
    const closeAll = () => {
      for (const r of readers) r.close();
      pcsc.close();
    };
    pcsc.on('reader', (reader) => {
      readers.push(reader);
      reader.on('error', () => undefined);
      if (reader.name !== readerName) return;
      reader.connect({ share_mode: reader.SCARD_SHARE_EXCLUSIVE }, (err, protocol) => {
        if (err) return reject(err);
        const samples: number[] = [];
        const send = (apdu: Uint8Array, done: (response: Buffer) => void) =>
          reader.transmit(Buffer.from(apdu), 258, protocol!, (e, data) => (e ? reject(e) : done(data!)));
        const loop = (i: number) => {
          if (i === n + 50) {
            reader.disconnect(reader.SCARD_LEAVE_CARD, () => {
              closeAll();
              resolve(samples);
            });
            return;
          }
          const t = process.hrtime.bigint();
          send(ECHO, (response) => {
            const dt = Number(process.hrtime.bigint() - t) / 1e6;
            if (response.length !== 18) return reject(new Error('bad echo'));
            if (i >= 50) samples.push(dt);
            loop(i + 1);
          });
        };
        send(SELECT, () => loop(0));
      });
    });
    pcsc.on('error', reject);
  });
}

const bareSamples: number[] = [];
const oursSamples: number[] = [];
for (let pass = 0; pass < passes; pass++) {
  if (pass % 2 === 0) {
    bareSamples.push(...(await bare()));
    oursSamples.push(...(await twincard()));
  } else {
    oursSamples.push(...(await twincard()));
    bareSamples.push(...(await bare()));
  }
}
const baseline = stats(bareSamples);
const ours = stats(oursSamples);
const fmt = (v: number) => `${v.toFixed(3)} ms`;
process.stdout.write(
  [
    `transport benchmark: ${total} echo APDUs (16 bytes) per side, in ${passes} alternating passes, on "${readerName}"`,
    `  bare pcsclite      median ${fmt(baseline.median)}  p99 ${fmt(baseline.p99)}`,
    `  twincard transport median ${fmt(ours.median)}  p99 ${fmt(ours.p99)}`,
    `  ratio twincard/bare: median ${(ours.median / baseline.median).toFixed(2)}x  p99 ${(ours.p99 / baseline.p99).toFixed(2)}x`,
    '',
  ].join('\n'),
);
