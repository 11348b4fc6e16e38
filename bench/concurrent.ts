/**
 * Stress: every virtual card at once, N interleaved echo APDUs each with distinct random data, every response
 * checked byte for byte. Field notes saw two cards on readers of DIFFERENT vpcd entries corrupt each other's
 * stream after ~180 APDUs; sim.sh now gives every entry its own copy of the vpcd driver. Needs
 * `scripts/sim.sh up --cards 4`.
 *
 *   node dist/bench/concurrent.js [--n 2000] [--cards 4]
 */
import { randomBytes } from 'node:crypto';
import { ApduChannel, command, fromHex, toHex } from '../src/apdu/index.js';
import { PcscService } from '../src/readers/index.js';
import { simReaderName } from '../src/sim/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const n = Number(option('--n', '2000'));
const cards = Number(option('--cards', '4'));

const service = PcscService.open();
let mismatches = 0;
try {
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: cards }, async (_, k) => {
      const card = await service.connect(simReaderName(k), { share: 'exclusive', protocol: 'any' });
      const channel = new ApduChannel(card);
      await channel.sendOk(command(0, 0xa4, 4, 0, fromHex('F07477696E63617264FE'), 256));
      for (let i = 0; i < n; i++) {
        const data = randomBytes(1 + (i % 200));
        const response = await channel.send(command(0x80, 0x01, 0, 0, data, 256));
        if (response.sw !== 0x9000 || toHex(response.data) !== toHex(data)) mismatches++;
      }
      await card.disconnect('leave');
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `concurrent stress: ${cards} cards x ${n} echo APDUs (1..200 bytes), ${mismatches} mismatches, ` +
      `${seconds.toFixed(2)} s, ${((cards * n) / seconds).toFixed(0)} APDUs/s in all\n`,
  );
} finally {
  service.close();
}
process.exitCode = mismatches === 0 ? 0 : 1;
