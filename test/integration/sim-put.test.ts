/**
 * `twincard sim put K R` through the real stack: one reader, cards swapped in it by hand (the tap-mode case).
 * What pcscd reports (removal, then insertion), what the cards say (their ids read through pcscd, EEPROM
 * kept, RAM cleared) and what `sim status --json` says must agree. Uses test cards 0 and 1 and puts each
 * back in its own reader at the end.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ApduChannel, command, fromHex, toHex } from '../../src/apdu/index.js';
import { PcscService, type ReaderEvent } from '../../src/readers/index.js';
import { freshBlankCard, testCardId } from './support/cards.js';
import { cardOffset, readerForCard, repoRoot, simPut } from './support/sim.js';

const CLI = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** The CLI in a child process, WITHOUT blocking this one: pcsclite's status events must keep flowing meanwhile. */
function twincard(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TWINCARD_TRACE: '', NO_COLOR: '1', TWINCARD_RUN_DIR: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Status {
  cards: { index: number; inReader: number | null; present: boolean | null; control: string | null }[];
  readers: { index: number; name: string; port: number; card: number | null; present: boolean | null }[];
}
async function status(): Promise<Status> {
  return JSON.parse((await twincard(['sim', 'status', '--json'])).stdout) as Status;
}

/** The card id in a reader, as `twincard info` reads it through pcscd. */
async function cardIdIn(reader: string): Promise<{ cardId: string | null; state: string }> {
  const info = await twincard(['info', '--json', '--reader', reader]);
  expect(info.code).toBe(0);
  const doc = JSON.parse(info.stdout) as { cardId: string | null; state: string };
  return { cardId: doc.cardId, state: doc.state };
}

const LOOPBACK = command(0x00, 0xa4, 0x04, 0x00, fromHex('F07477696E63617264FE'), 256);
/** The loopback applet's counters: INS 06 persistent (in a transaction), INS 07 transient (CLEAR_ON_RESET). */
async function counters(service: PcscService, reader: string): Promise<{ persistent: number; transient: number }> {
  await service.waitForCard(reader, { timeoutMs: 10_000 });
  const card = await service.connect(reader, { share: 'exclusive', protocol: 'any' });
  try {
    const channel = new ApduChannel(card);
    await channel.sendOk(LOOPBACK);
    const read = async (ins: number) => Buffer.from(await channel.sendOk(command(0x80, ins, 0, 0, undefined, 2))).readUInt16BE(0);
    return { persistent: await read(0x06), transient: await read(0x07) };
  } finally {
    await card.disconnect('leave');
  }
}

let service: PcscService;
const idA = toHex(testCardId(0, 'PUTA'));
const idB = toHex(testCardId(1, 'PUTB'));

beforeAll(async () => {
  service = PcscService.open();
  for (const [k, prefix] of [
    [0, 'PUTA'],
    [1, 'PUTB'],
  ] as const) {
    const card = await freshBlankCard(service, k, testCardId(k, prefix));
    await card.close();
  }
});

afterAll(() => {
  // Each card back in its own reader, whatever a failed test left behind.
  try {
    simPut(1, 1);
    simPut(0, 0);
  } finally {
    service.close();
  }
});

/** Every card event pcscd reports on the given readers while `action` runs, in order. */
async function eventsDuring(readers: readonly string[], action: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const offs = (['card-removed', 'card-inserted'] as ReaderEvent[]).map((event) =>
    service.on(event, (state) => {
      if (readers.includes(state.name)) seen.push(`${state.name}: ${event}`);
    }),
  );
  try {
    await action();
    // The last event is pcscd's own; sim.sh put waited for it, but this process may hear it a moment later.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    for (const off of offs) off();
  }
  return seen;
}

test('each card starts in its own reader, ids as personalized', async () => {
  expect(await cardIdIn(readerForCard(0))).toEqual({ cardId: idA, state: 'BLANK' });
  expect(await cardIdIn(readerForCard(1))).toEqual({ cardId: idB, state: 'BLANK' });
  const doc = await status();
  expect(doc.readers[cardOffset]).toMatchObject({ name: readerForCard(0), card: cardOffset, present: true });
  expect(doc.readers[cardOffset + 1]).toMatchObject({ name: readerForCard(1), card: cardOffset + 1, present: true });
});

test('sim put 1 0: reader 0 sees card A leave and card B arrive (a fresh tap); A is in no reader; B kept its EEPROM', async () => {
  const before = await counters(service, readerForCard(1));
  expect(before.transient).toBeGreaterThan(0);
  let result = { code: null as number | null, stdout: '', stderr: '' };
  const events = await eventsDuring([readerForCard(0), readerForCard(1)], async () => {
    result = await twincard(['sim', 'put', String(cardOffset + 1), String(cardOffset), '--json']);
  });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({
    card: cardOffset + 1,
    reader: readerForCard(0),
    readerIndex: cardOffset,
    action: 'put',
    displaced: cardOffset,
  });
  // Removals first (A out of reader 0, B out of reader 1, in either order), the insertion into reader 0 last.
  expect(events.slice(0, 2).sort()).toEqual([`${readerForCard(0)}: card-removed`, `${readerForCard(1)}: card-removed`]);
  expect(events.slice(2)).toEqual([`${readerForCard(0)}: card-inserted`]);

  expect(await cardIdIn(readerForCard(0))).toEqual({ cardId: idB, state: 'BLANK' });
  const after = await counters(service, readerForCard(0));
  expect(after.persistent).toBe(before.persistent + 1); // EEPROM travelled with the card
  expect(after.transient).toBe(1); // RAM did not: cleared at power-up in the new reader
  await service.waitForReaders({ timeoutMs: 2000 });
  expect(service.readers().find((r) => r.name === readerForCard(1))?.cardPresent).toBe(false);

  const doc = await status();
  expect(doc.readers[cardOffset]).toMatchObject({ card: cardOffset + 1, present: true });
  expect(doc.readers[cardOffset + 1]).toMatchObject({ card: null, present: false });
  expect(doc.cards.find((c) => c.index === cardOffset)).toMatchObject({
    inReader: null,
    present: false,
    control: expect.stringMatching(/^pulled/),
  });
  expect(doc.cards.find((c) => c.index === cardOffset + 1)).toMatchObject({ inReader: cardOffset, present: true });
}, 30_000);

test('sim insert of the displaced card is refused while another card holds its reader', async () => {
  const refused = await twincard(['sim', 'insert', String(cardOffset)]);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain(`reader ${cardOffset} holds card ${cardOffset + 1} now`);
  expect(await cardIdIn(readerForCard(0))).toEqual({ cardId: idB, state: 'BLANK' });
});

test(
  'sim put 0 0: card A back in reader 0 (B leaves it), read ' + 'through pcscd; sim put of the card already there is a fresh tap',
  async () => {
    const back = await twincard(['sim', 'put', String(cardOffset), readerForCard(0), '--json']);
    expect(back.code).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ card: cardOffset, readerIndex: cardOffset, displaced: cardOffset + 1 });
    expect(await cardIdIn(readerForCard(0))).toEqual({ cardId: idA, state: 'BLANK' });
    expect((await status()).cards.find((c) => c.index === cardOffset + 1)).toMatchObject({ inReader: null });

    const events = await eventsDuring([readerForCard(0)], async () => {
      expect((await twincard(['sim', 'put', String(cardOffset), String(cardOffset)])).code).toBe(0);
    });
    expect(events).toEqual([`${readerForCard(0)}: card-removed`, `${readerForCard(0)}: card-inserted`]);
    expect(await cardIdIn(readerForCard(0))).toEqual({ cardId: idA, state: 'BLANK' });
    // Two puts (each waits up to 10 s for pcscd's reader polling to report the card gone, then present) and three
    // CLI processes: 5 s on a quiet machine; one full CI-like run on a loaded machine ran past 30 s (cause not yet
    // pinned down: see the closing note of 2026-12-01), so this test gets the time its waits can legitimately take.
  },
  90_000,
);

test('sim put refuses a reader that does not exist and a card that does not run', async () => {
  const noReader = await twincard(['sim', 'put', String(cardOffset), '99']);
  expect(noReader.code).toBe(2);
  expect(noReader.stderr).toMatch(/reader 99 does not exist \(readers 0\.\.\d+\)/);
  const noCard = await twincard(['sim', 'put', '97', String(cardOffset)]);
  expect(noCard.code).toBe(5);
  expect(noCard.stderr).toContain('card 97 is not running');
});
