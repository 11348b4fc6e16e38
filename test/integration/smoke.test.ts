import pcsclite from 'pcsclite';
test('pcsclite loads', () => { expect(typeof pcsclite).toBe('function'); });
