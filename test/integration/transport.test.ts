/**
 * The transport through the real stack: twincard's PcscService -> libpcsclite -> pcscd -> vpcd -> jCardSim,
 * against the loopback applet. Needs `scripts/sim.sh up` (the test command runs it).
 */
import { spawnSync } from 'node:child_process';
import { sha256 } from '@noble/hashes/sha2.js';
import { ApduChannel, command, toHex, fromHex } from '../../src/apdu/index.js';
import { PcscError, PcscService, RecordingTransport, ReplayTransport, type PcscCard } from '../../src/readers/index.js';
import { readerForCard, repoRoot, sim } from './support/sim.js';

const LOOPBACK_AID = fromHex('F07477696E63617264FE');
const select = command(0x00, 0xa4, 0x04, 0x00, LOOPBACK_AID, 256);
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

describe('PC/SC transport against a virtual card', () => {
  let service: PcscService;
  let card: PcscCard;
  let channel: ApduChannel;

  beforeAll(async () => {
    service = PcscService.open();
    await service.waitForCard(readerForCard(0), { timeoutMs: 10_000 });
    card = await service.connect(readerForCard(0), { share: 'exclusive', protocol: 'any' });
    channel = new ApduChannel(card);
    expect((await channel.send(select)).sw).toBe(0x9000);
  });

  afterAll(async () => {
    await card.disconnect('leave').catch(() => undefined);
    service.close();
  });

  test('lists the virtual readers with the fixture ATR', async () => {
    // Each reader's state arrives in its own status event after open(): wait for all three, not just card 0's.
    for (const k of [0, 1, 2]) await service.waitForCard(readerForCard(k), { timeoutMs: 10_000 });
    const readers = service.readers();
    for (const k of [0, 1, 2]) {
      const reader = readers.find((r) => r.name === readerForCard(k));
      expect(reader?.cardPresent).toBe(true);
      expect(toHex(reader?.atr ?? new Uint8Array())).toBe('3B8A80017477696E6361726400011A');
    }
  });

  test('echo returns the data', async () => {
    const data = fromHex('0102030405');
    const response = await channel.send(command(0x80, 0x01, 0, 0, data, 256));
    expect(response).toEqual({ data, sw: 0x9000 });
  });

  test('a 600-byte response arrives whole through GET RESPONSE', async () => {
    const response = await channel.send(command(0x80, 0x02, 0x02, 0x58, undefined, 256));
    expect(response.sw).toBe(0x9000);
    expect(response.data).toEqual(pattern(600));
  });

  test('the raw card answers 61xx that the channel would follow', async () => {
    const raw = await card.transmit(fromHex('8002012C00'));
    expect(raw.length).toBe(258);
    expect(toHex(raw.subarray(256))).toBe('612C');
  });

  test('a command whose Lc does not match its length gets 6700, and the card stays in the reader', async () => {
    expect(toHex(await card.transmit(fromHex('8001000005010203')))).toBe('6700');
    expect(toHex(await card.transmit(fromHex('80010000')))).toBe('9000'); // case 1: no data, no Le
    const response = await channel.send(command(0x80, 0x01, 0, 0, fromHex('AA'), 256));
    expect(response).toEqual({ data: fromHex('AA'), sw: 0x9000 });
  });

  test('6Cxx is answered by resending with the right Le', async () => {
    const response = await channel.send(command(0x80, 0x04, 0x00, 0x10, undefined, 5));
    expect(response).toEqual({ data: pattern(16), sw: 0x9000 });
  });

  test('600 bytes of command data go out as a command chain', async () => {
    const data = Uint8Array.from({ length: 600 }, (_, i) => (i * 7) & 0xff);
    const response = await channel.send(command(0x80, 0x05, 0, 0, data, 256));
    expect(response.sw).toBe(0x9000);
    expect(toHex(response.data)).toBe(`0258${toHex(sha256(data))}`);
  });

  test('an error status word comes back as such', async () => {
    const response = await channel.send(command(0x80, 0x03, 0x6a, 0x82, undefined, 0));
    expect(response).toEqual({ data: new Uint8Array(), sw: 0x6a82 });
    await expect(channel.sendOk(command(0x80, 0x03, 0x69, 0x85), 'STATUS')).rejects.toThrow(/STATUS: SW=0x6985/);
  });
});

describe('a card pulled out and put back', () => {
  const k = 1;
  let service: PcscService;

  beforeAll(() => {
    service = PcscService.open();
  });
  afterAll(() => {
    sim('insert', k);
    service.close();
  });

  async function open(): Promise<{ card: PcscCard; channel: ApduChannel }> {
    await service.waitForCard(readerForCard(k), { timeoutMs: 10_000 });
    const card = await service.connect(readerForCard(k), { share: 'exclusive', protocol: 'any' });
    const channel = new ApduChannel(card);
    expect((await channel.send(select)).sw).toBe(0x9000);
    return { card, channel };
  }
  /** Resolves when the service sees `event` on card k's reader; subscribe BEFORE causing it. */
  function seen(event: 'card-removed' | 'card-inserted'): Promise<void> {
    return new Promise((resolve) => {
      const off = service.on(event, (reader) => {
        if (reader.name !== readerForCard(k)) return;
        off();
        resolve();
      });
    });
  }
  async function reinsert(): Promise<void> {
    const inserted = seen('card-inserted');
    sim('insert', k);
    await inserted;
  }
  const counter = async (channel: ApduChannel, ins: number) =>
    Buffer.from(await channel.sendOk(command(0x80, ins, 0, 0, undefined, 2))).readUInt16BE(0);

  test('removal mid-session is a typed error; EEPROM survives, RAM does not', async () => {
    const first = await open();
    const persistent = await counter(first.channel, 0x06);
    expect(await counter(first.channel, 0x07)).toBeGreaterThan(0);
    const removed = seen('card-removed');
    sim('pull', k);
    await removed;
    const error = await first.card.transmit(fromHex('8006000002')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcscError);
    expect((error as PcscError).kind).toMatch(/card-removed|transaction-failed/);
    await first.card.disconnect('leave').catch(() => undefined);

    await reinsert();
    const second = await open();
    expect(await counter(second.channel, 0x06)).toBe(persistent + 1);
    expect(await counter(second.channel, 0x07)).toBe(1);
    await second.card.disconnect('leave');
  });

  test('pull-after-next: the card did the work, the host never got the answer', async () => {
    const first = await open();
    const before = await counter(first.channel, 0x06);
    sim('pull-after-next', k);
    const removed = seen('card-removed');
    await expect(first.card.transmit(fromHex('8006000002'))).rejects.toBeInstanceOf(PcscError);
    await removed;
    await first.card.disconnect('leave').catch(() => undefined);
    await reinsert();
    const second = await open();
    expect(await counter(second.channel, 0x06)).toBe(before + 2);
    await second.card.disconnect('leave');
  });
});

describe('process hygiene', () => {
  const node = (script: string, env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });

  test('without pcscd, open() is a typed service-unavailable error and the process exits', () => {
    const started = Date.now();
    const result = node(
      `import { PcscService } from './dist/src/readers/index.js';
       try { PcscService.open(); console.log('opened'); } catch (e) { console.log(e.constructor.name, e.kind); }`,
      { PCSCLITE_CSOCK_NAME: '/nonexistent/pcscd.comm' },
    );
    expect(result.stdout.trim()).toBe('PcscError service-unavailable');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a process that opened and closed the service exits promptly', () => {
    const started = Date.now();
    const result = node(
      `import { PcscService } from './dist/src/readers/index.js';
       const s = PcscService.open(); await s.waitForReaders({ timeoutMs: 2000 }); s.close(); console.log('closed');`,
    );
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('closed');
    expect(Date.now() - started).toBeLessThan(4000);
  });
});

describe('record a real session, replay it strictly', () => {
  test('a recorded transcript replays the same answers and refuses a different command', async () => {
    const service = PcscService.open();
    try {
      await service.waitForCard(readerForCard(2), { timeoutMs: 10_000 });
      const card = await service.connect(readerForCard(2), { share: 'exclusive', protocol: 'any' });
      const recorder = new RecordingTransport(card);
      const live = new ApduChannel(recorder);
      await live.sendOk(select);
      const long = await live.send(command(0x80, 0x02, 0x01, 0x90, undefined, 256));
      await card.disconnect('leave');
      const text = recorder.transcript();
      expect(text.split('\n').filter((l) => l.startsWith('=>'))).toHaveLength(3); // 8002 + one GET RESPONSE

      const replay = new ReplayTransport(text);
      const offline = new ApduChannel(replay);
      await offline.sendOk(select);
      expect(await offline.send(command(0x80, 0x02, 0x01, 0x90, undefined, 256))).toEqual(long);
      replay.assertDone();

      const strict = new ApduChannel(new ReplayTransport(text));
      await expect(strict.send(command(0x80, 0x01, 0, 0, fromHex('00'), 256))).rejects.toThrow(/transcript line 1: expected => 00A40400/);
    } finally {
      service.close();
    }
  });
});
