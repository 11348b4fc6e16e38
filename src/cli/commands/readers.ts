/** `twincard readers`: the PC/SC readers and the ATR of the card in each. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { toHex } from '../../apdu/index.js';
import { PcscService } from '../../readers/index.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';

export const readersCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'readers',
  describe: 'List PC/SC readers and the ATR of the card in each',
  builder: (yargs: Argv<GlobalOptions>) => yargs,
  handler: async (argv: ArgumentsCamelCase<GlobalOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const service = PcscService.open();
    try {
      const readers = await service.waitForReaders({ timeoutMs: 1500 });
      const rows = readers.map((r, index) => ({
        index,
        name: r.name,
        card: r.cardPresent,
        atr: r.atr === undefined ? null : toHex(r.atr),
      }));
      if (rows.length === 0) out.print('no readers');
      for (const row of rows) out.print(`${row.index}: ${row.name}  ${row.atr === null ? '(no card)' : `ATR ${row.atr}`}`);
      out.result({ readers: rows });
    } finally {
      service.close();
    }
  },
};
