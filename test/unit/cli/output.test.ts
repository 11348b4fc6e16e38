/** Where each kind of CLI line goes: the result on stdout (its human form moves to stderr under --json), the rest on stderr. */
import { PassThrough } from 'node:stream';
import { Output } from '../../../src/cli/output.js';

function capture(json: boolean, color = false) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = new Output({ json, color, resultColor: color }, stderr, stdout);
  const read = (stream: PassThrough) => (stream.read() as Buffer | null)?.toString('utf8') ?? '';
  return { out, stdout: () => read(stdout), stderr: () => read(stderr) };
}

test('plain: print and printEmphasis on stdout; info and emphasis on stderr; result writes nothing', () => {
  const c = capture(false);
  c.out.printEmphasis('GENUINE');
  c.out.print('state         BLANK');
  c.out.info('step 1/3 done');
  c.out.emphasis('Present a card');
  c.out.result({ state: 'BLANK' });
  expect(c.stdout()).toBe('GENUINE\nstate         BLANK\n');
  expect(c.stderr()).toBe('step 1/3 done\nPresent a card\n');
});

test('--json: the document alone on stdout; the human form of the result on stderr with the rest', () => {
  const c = capture(true);
  c.out.print('state         BLANK');
  c.out.info('step 1/3 done');
  c.out.result({ state: 'BLANK', id: Uint8Array.of(0xab, 1), n: 5n });
  expect(JSON.parse(c.stdout())).toEqual({ state: 'BLANK', id: 'AB01', n: '5' });
  expect(c.stderr()).toBe('state         BLANK\nstep 1/3 done\n');
  expect(() => c.out.result({})).toThrow('a command wrote two --json documents');
});

test('bold only where colour is on: a pipe gets plain text', () => {
  const plain = capture(false, false);
  plain.out.printEmphasis('GENUINE');
  expect(plain.stdout()).toBe('GENUINE\n');
  const tty = capture(false, true);
  tty.out.printEmphasis('GENUINE');
  tty.out.emphasis('Present a card');
  expect(tty.stdout()).toBe('\u001b[1mGENUINE\u001b[0m\n');
  expect(tty.stderr()).toBe('\u001b[1mPresent a card\u001b[0m\n');
});
