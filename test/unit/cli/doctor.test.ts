import { existsSync } from 'node:fs';
import { driverFor } from '../../../src/cli/commands/doctor.js';

describe('doctor: which driver serves a reader', () => {
  const drivers = new Map([['ACS ACR122U PICC Interface', 'ifd-ccid.bundle']]);

  test('pcscd appends slot numbers to the friendly name: they are stripped before the lookup', () => {
    expect(driverFor('ACS ACR122U PICC Interface 00 00', drivers)).toBe('ifd-ccid.bundle');
    expect(driverFor('ACS ACR122U PICC Interface 01 00', drivers)).toBe('ifd-ccid.bundle');
  });

  test('the virtual readers, whichever vpcd entry', () => {
    expect(driverFor('Virtual PCD 00 01', drivers)).toMatch(/^vpcd/);
    expect(driverFor('Virtual PCD 3 00 00', drivers)).toMatch(/^vpcd/);
  });

  test('a reader no bundle declares is unknown, said so (not guessed)', () => {
    expect(driverFor('Some Reader 00 00', drivers)).toMatch(/^unknown/);
  });
});

// The doctor reads libccid's own list; on this project's machines it is installed (scripts/setup.sh).
test('libccid declares the ACR122U by the name pcscd gives it', () => {
  expect(existsSync('/usr/lib/pcsc/drivers/ifd-ccid.bundle/Contents/Info.plist')).toBe(true);
});
