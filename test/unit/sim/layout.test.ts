/** The one definition of the virtual readers: names as pcscd gives them from the entries sim.sh writes. */
import { readerCount, readerOfPort, simReaderName, simReaderPort, vpcdEntries } from '../../../src/sim/index.js';

test("reader names: vpcd's own entry first, then one named entry per two readers", () => {
  expect([0, 1, 2, 3, 4, 5, 19].map(simReaderName)).toEqual([
    'Virtual PCD 00 00',
    'Virtual PCD 00 01',
    'Virtual PCD 2 00 00',
    'Virtual PCD 2 00 01',
    'Virtual PCD 3 00 00',
    'Virtual PCD 3 00 01',
    'Virtual PCD 10 00 01',
  ]);
});

test('entries for N cards: whole entries, each friendly name the prefix of its two readers', () => {
  expect(vpcdEntries(3)).toEqual([
    { index: 0, friendlyName: 'Virtual PCD', channel: 35963 },
    { index: 1, friendlyName: 'Virtual PCD 2', channel: 35965 },
  ]);
  expect(readerCount(3)).toBe(4);
  expect(readerCount(0)).toBe(0);
  for (const entry of vpcdEntries(12)) {
    for (const slot of [0, 1]) {
      const reader = entry.index * 2 + slot;
      expect(simReaderName(reader)).toBe(`${entry.friendlyName} 00 0${slot}`);
      expect(simReaderPort(reader)).toBe(entry.channel + slot);
      expect(readerOfPort(simReaderPort(reader))).toBe(reader);
    }
  }
});

test('out-of-range indices are RangeErrors, not odd names', () => {
  for (const bad of [-1, 1.5, 1000, Number.NaN]) expect(() => simReaderName(bad)).toThrow(RangeError);
  expect(() => readerCount(-2)).toThrow(RangeError);
  expect(readerOfPort(35962)).toBeNull();
});
