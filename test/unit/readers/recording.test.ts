/**
 * Several cards in one `--record` file: presentations cut by `# connect N` lines, each with its own redactor
 * (a GET RESPONSE inherits only from its own card), still a transcript ReplayTransport reads.
 */
import { fromHex } from '../../../src/apdu/index.js';
import { createExchangeRedactor } from '../../../src/protocol/redaction.js';
import { parseTranscript, ReplayTransport, SessionRecording, splitPresentations } from '../../../src/readers/index.js';

/** A card that answers from a script, whatever it is sent (the recorder is what is under test). */
const scripted = (...answers: string[]) => ({ transmit: async () => fromHex(answers.shift() ?? '6F00') });

test('two cards interleaved: each exchange lands in its own presentation, GET RESPONSE redacted per card', async () => {
  const recording = new SessionRecording(createExchangeRedactor);
  // Card 1 answers BACKUP_EXPORT in two parts (secret); card 2 gets a GET RESPONSE in between, after a
  // public READ of its own: that one must not inherit card 1's redaction.
  const primary = recording.attach(scripted('AABB6102', 'CCDD9000'), { reader: 'Reader A', atr: fromHex('3B00') });
  await primary.transmit(fromHex('8062000001EE00'));
  recording.note('step-done export-primary');
  const backup = recording.attach(scripted('01026102', '03049000', '9000'), { reader: 'Reader\nB' });
  await backup.transmit(fromHex('8010000000'));
  await backup.transmit(fromHex('00C0000002'));
  // Back to card 1, both still connected: a switch line, and card 1's redaction is its own again.
  await primary.transmit(fromHex('00C0000002'));
  await backup.transmit(fromHex('00A4040000'));
  recording.detachAll();
  await backup.transmit(fromHex('00A4040000')); // after its disconnect: not recorded
  const text = recording.text();
  expect(text).toBe(
    [
      '# connect 1: Reader A (ATR 3B00)',
      '=> 8062000001EE00',
      '<= .... 6102',
      '# step-done export-primary',
      '# connect 2: Reader?B',
      '=> 8010000000',
      '<= 01026102',
      '=> 00C0000002',
      '<= 03049000',
      '# card 1',
      '=> 00C0000002',
      '<= .... 9000',
      '# card 2',
      '=> 00A4040000',
      '<= 9000',
      '# disconnect 1',
      '# disconnect 2',
      '',
    ].join('\n'),
  );
  const parts = splitPresentations(`# header\n${text}`);
  expect(parts.map((p) => [p.index, p.reader])).toEqual([
    [1, 'Reader A'],
    [2, 'Reader?B'],
  ]);
  expect(parseTranscript(parts[0]!.transcript).map((x) => x.command)).toEqual(['8062000001EE00', '00C0000002']);
  expect(parseTranscript(parts[1]!.transcript).map((x) => x.command)).toEqual(['8010000000', '00C0000002', '00A4040000']);
  // Line numbers are the file's: a replay failure points at the line a person sees.
  const second = new ReplayTransport(parts[1]!.transcript);
  await expect(second.transmit(fromHex('8010000001'))).rejects.toThrow('transcript line 7: expected => 8010000000');
});

test('a file without connect lines (one card, the older format) is one presentation', () => {
  const parts = splitPresentations('# twincard\n=> 00A4040000\n<= 9000\n');
  expect(parts).toHaveLength(1);
  expect(parseTranscript(parts[0]!.transcript)).toHaveLength(1);
});

test('an exchange outside every presentation, or a switch to a card not connected, is refused with its line', () => {
  expect(() => splitPresentations('=> 00A4040000\n<= 9000\n# connect 1: R\n')).toThrow('transcript line 1: an exchange outside');
  expect(() => splitPresentations('# connect 1: R\n# disconnect 1\n=> 00A4040000\n<= 9000\n')).toThrow(
    'transcript line 3: an exchange outside',
  );
  expect(() => splitPresentations('# connect 1: R\n# card 2\n')).toThrow('transcript line 2: card 2 is not connected');
});

test('a note is one comment line: a newline in it cannot forge an exchange', () => {
  const recording = new SessionRecording(createExchangeRedactor);
  recording.note('refused: card\n=> 00');
  expect(recording.text()).toBe('# refused: card?=> 00\n');
  expect(parseTranscript(recording.text())).toEqual([]);
});
