/**
 * What a developer does with a user's `--record` file: replay it in a unit test. The two transcripts here
 * were recorded from the reference applet on a virtual card through pcscd (`twincard info --record F` and
 * `twincard attest --trust-test-root --record F`, test card 2 personalized with the TEST manufacturer, a
 * wallet created and one signature made). Re-record them the same way when the wire format changes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/apdu/index.js';
import { attest } from '../../../src/protocol/attestation.js';
import { TwincardCard } from '../../../src/protocol/card.js';
import { testManufacturerRoot } from '../../../src/protocol/roots.js';
import { parseTranscript, ReplayTransport } from '../../../src/readers/index.js';

const recorded = (name: string) => readFileSync(fileURLToPath(new URL(`./transcripts/${name}`, import.meta.url)), 'utf8');

test('a recorded info session replays: what the user saw is what the library reads', async () => {
  const replay = new ReplayTransport(recorded('record-info.apdu'));
  const card = new TwincardCard(replay);
  await card.select();
  const info = await card.read();
  replay.assertDone();
  expect(info.state).toBe('WALLET');
  expect(toHex(info.cardId!)).toBe('5445535400000003');
  expect(info.signCounter).toBe(1);
  expect(info.pinTriesLeft).toBe(4);
});

test('a recorded attest session replays to the same verdict, with the challenge taken from the file', async () => {
  const text = recorded('record-attest.apdu');
  // ATTEST's challenge was fresh and random: a replay must send the one the card answered.
  const attestCommand = parseTranscript(text).find((exchange) => exchange.command.startsWith('80400000'));
  expect(attestCommand).toBeDefined();
  const challenge = fromHex(attestCommand!.command.slice(10, 10 + 64));
  const replay = new ReplayTransport(text);
  const verdict = await attest(new TwincardCard(replay), [testManufacturerRoot()], { challenge });
  replay.assertDone();
  expect(verdict.genuine).toBe(true);
  // ... and a different challenge does not match the recording: the replay is strict.
  const other = new ReplayTransport(text);
  await expect(attest(new TwincardCard(other), [testManufacturerRoot()], { challenge: new Uint8Array(32) })).rejects.toThrow(/line \d+: expected => 80400000/);
});
