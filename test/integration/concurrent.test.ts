/**
 * Four virtual cards used at the same time, across two vpcd entries: thousands of interleaved APDUs, every
 * response checked. (Field notes: readers of different vpcd entries used to corrupt each other's stream;
 * sim.sh loads a separate copy of the vpcd driver per entry.)
 */
import { randomBytes } from 'node:crypto';
import { ApduChannel, command, fromHex, toHex } from '../../src/apdu/index.js';
import { PcscService } from '../../src/readers/index.js';
import { readerForCard } from './support/sim.js';

const CARDS = 4;
const APDUS_PER_CARD = 2000;

test(`${CARDS} cards x ${APDUS_PER_CARD} interleaved echo APDUs, every response exact`, async () => {
  const service = PcscService.open();
  try {
    const perCard = await Promise.all(
      Array.from({ length: CARDS }, async (_, k) => {
        await service.waitForCard(readerForCard(k), { timeoutMs: 10_000 });
        const card = await service.connect(readerForCard(k), { share: 'exclusive', protocol: 'any' });
        const channel = new ApduChannel(card);
        await channel.sendOk(command(0, 0xa4, 4, 0, fromHex('F07477696E63617264FE'), 256));
        const bad: string[] = [];
        for (let i = 0; i < APDUS_PER_CARD; i++) {
          const data = randomBytes(1 + (i % 200));
          const response = await channel.send(command(0x80, 0x01, 0, 0, data, 256));
          if (response.sw !== 0x9000 || toHex(response.data) !== toHex(data)) bad.push(`#${i}`);
        }
        await card.disconnect('leave');
        return bad;
      }),
    );
    expect(perCard).toEqual(Array.from({ length: CARDS }, () => []));
  } finally {
    service.close();
  }
}, 60_000);
