// Waits until pcscd reports a card present in (or absent from) one reader, as libpcsclite sees it, and exits 0;
// exits 1 after the timeout saying what it saw. `sim.sh put` uses it so that pcscd sees a removal before the
// next card goes in (a fresh tap), not just the card process closing its socket.
// Usage: node scripts/lib/pcsc-reader-wait.mjs READER_NAME present|absent TIMEOUT_MS
import pcsclite from 'pcsclite';

const [name, want, timeoutText] = process.argv.slice(2);
if (name === undefined || (want !== 'present' && want !== 'absent')) {
  console.error('usage: pcsc-reader-wait.mjs READER_NAME present|absent [TIMEOUT_MS]');
  process.exit(2);
}
const timeoutMs = Number(timeoutText ?? '10000');
let pcsc;
try {
  pcsc = pcsclite();
} catch (error) {
  console.error(`pcscd not reachable: ${error.message}`);
  process.exit(1);
}
let seen = 'not listed';
const finish = (code) => {
  if (code !== 0) console.error(`reader ${name}: wanted ${want}, pcscd says ${seen}`);
  pcsc.close();
  process.exit(code);
};
const timer = setTimeout(() => finish(1), timeoutMs);
pcsc.on('error', () => undefined);
pcsc.on('reader', (reader) => {
  reader.on('error', () => undefined);
  if (reader.name !== name) return;
  seen = 'no status yet';
  reader.on('status', (status) => {
    const present = (status.state & reader.SCARD_STATE_PRESENT) !== 0 && status.atr !== undefined && status.atr.length > 0;
    seen = present ? 'present' : 'absent';
    if (seen === want) {
      clearTimeout(timer);
      finish(0);
    }
  });
});
