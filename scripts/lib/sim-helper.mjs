// scripts/sim.sh's window on src/sim (built into dist/): the reader layout, the root key and homing the cards are
// defined once, in TypeScript, and the bash script asks here instead of defining them a second time.
// Usage:
//   node scripts/lib/sim-helper.mjs layout CARDS        one line per vpcd entry: "entry<TAB>CHANNEL<TAB>FRIENDLYNAME",
//                                                       then one per card: "card<TAB>K<TAB>VPCD_PORT"
//   node scripts/lib/sim-helper.mjs root-hex PEM        the 65-byte root point of a secp256k1 key PEM, hex
//   node scripts/lib/sim-helper.mjs home RUN CARDS MS   every card of RUN back in its own reader and inserted; waits
//                                                       until pcscd shows cards 0..CARDS-1, then prints "READER<TAB>ATR"
//   node scripts/lib/sim-helper.mjs control SOCKET LINE one line to a card's control socket; prints its one answer line
// Exit 0 when done, 1 with one line on stderr saying what failed, 2 for a wrong command line.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Buffer } from 'node:buffer';

const built = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'sim', 'index.js');
if (!existsSync(built)) {
  console.error(`${built} is missing: build the TypeScript first (scripts/build.sh, or scripts/setup.sh)`);
  process.exit(1);
}
// homeAllCards and waitForSimCards are cards.js's own (the index keeps what the TypeScript callers use).
const sim = { ...(await import(built)), ...(await import(join(dirname(built), 'cards.js'))) };

const usage = (message) => {
  console.error(`sim-helper: ${message}`);
  process.exit(2);
};
const count = (text, what) => {
  if (text === undefined || !/^[0-9]{1,6}$/.test(text)) usage(`${what}: expected a number, got ${JSON.stringify(text)}`);
  return Number(text);
};

const [command, ...args] = process.argv.slice(2);
try {
  switch (command) {
    case 'layout': {
      const cards = count(args[0], 'CARDS');
      for (const entry of sim.vpcdEntries(cards)) {
        console.log(`entry\t0x${entry.channel.toString(16).toUpperCase()}\t${entry.friendlyName}`);
      }
      for (let k = 0; k < cards; k++) console.log(`card\t${k}\t${sim.simReaderPort(k)}`);
      break;
    }
    case 'root-hex':
      if (args[0] === undefined) usage('root-hex PEM');
      console.log(sim.rootPointHex(args[0]));
      break;
    case 'home': {
      if (args[0] === undefined) usage('home RUN CARDS TIMEOUT_MS');
      const cards = count(args[1], 'CARDS');
      const timeoutMs = count(args[2] ?? '20000', 'TIMEOUT_MS');
      await sim.homeAllCards(args[0]);
      const readers = await sim.waitForSimCards(cards, timeoutMs);
      for (const r of readers.sort((a, b) => a.name.localeCompare(b.name))) {
        console.log(
          `${r.name}\t${Buffer.from(r.atr ?? [])
            .toString('hex')
            .toUpperCase()}`,
        );
      }
      break;
    }
    case 'control':
      if (args[0] === undefined || args[1] === undefined) usage('control SOCKET LINE');
      console.log(await sim.exchangeControlLine(args[0], args[1]));
      break;
    default:
      usage(`unknown command ${JSON.stringify(command)} (layout, root-hex, home, control)`);
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
// Explicitly: a PC/SC context closed just after a card event can keep the event loop alive (see src/cli/main.ts).
process.exit(0);
