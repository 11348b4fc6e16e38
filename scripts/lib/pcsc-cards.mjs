// Waits until at least N readers hold a card with an ATR, as pcscd reports them through libpcsclite, then
// prints one line per reader ("NAME\tATR") and exits 0; exits 1 after the timeout with what it saw.
// Usage: node scripts/lib/pcsc-cards.mjs N TIMEOUT_MS
import pcsclite from 'pcsclite';

const want = Number(process.argv[2] ?? '1');
const timeoutMs = Number(process.argv[3] ?? '10000');
const cards = new Map();
let pcsc;
try {
  pcsc = pcsclite();
} catch (error) {
  console.error(`pcscd not reachable: ${error.message}`);
  process.exit(1);
}
const finish = (code) => {
  for (const [name, atr] of [...cards].sort()) console.log(`${name}\t${atr}`);
  pcsc.close();
  process.exit(code);
};
const timer = setTimeout(() => finish(1), timeoutMs);
pcsc.on('error', () => undefined);
pcsc.on('reader', (reader) => {
  reader.on('error', () => undefined);
  reader.on('status', (status) => {
    const present = (status.state & reader.SCARD_STATE_PRESENT) !== 0 && status.atr && status.atr.length > 0;
    if (present) cards.set(reader.name, status.atr.toString('hex').toUpperCase());
    else cards.delete(reader.name);
    if (cards.size >= want) {
      clearTimeout(timer);
      finish(0);
    }
  });
  reader.on('end', () => cards.delete(reader.name));
});
