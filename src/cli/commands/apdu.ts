/** `twincard apdu HEX...`: send raw command APDUs (GET RESPONSE and 6Cxx handled) and print the responses. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { cliTraceRedactor } from '../trace-redactor.js';
import {
  decodeCommand,
  describeCommand,
  describeStatus,
  encodeResponse,
  formatSw,
  fromHex,
  toHex,
  type ResponseApdu,
} from '../../apdu/index.js';
import { UsageError } from '../errors.js';
import { exchangeTimeoutMs, type GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { commandRecording } from '../record.js';
import { openCardSession, traceEnabled } from '../session.js';

interface ApduOptions extends GlobalOptions {
  readonly apdus: readonly string[];
  readonly raw: boolean;
}

export const apduCommand: CommandModule<GlobalOptions, ApduOptions> = {
  command: 'apdu <apdus..>',
  describe: 'Send command APDUs (hex) to the card and print the responses',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('apdus', { type: 'string', array: true, demandOption: true, describe: 'command APDUs in hex' })
      .option('raw', {
        type: 'boolean',
        default: false,
        describe: 'send exactly these bytes: no GET RESPONSE, no Le correction, no chaining',
      })
      .example('$0 apdu 00A4040009F07477696E63617264FE00 800200000000 --trace', 'SELECT the loopback applet, then ask for 512 bytes'),
  handler: async (argv: ArgumentsCamelCase<ApduOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    // Parse everything before touching the card: a typo must not leave half the APDUs sent.
    const commands = argv.apdus.map((text, i) => {
      try {
        const bytes = fromHex(text);
        return { bytes, parsed: decodeCommand(bytes) };
      } catch (error) {
        throw new UsageError(`APDU #${i + 1} (${text}): ${(error as Error).message}`);
      }
    });
    const session = await openCardSession({
      reader: argv.reader,
      trace: traceEnabled(argv.trace),
      waitMs: argv.wait * 1000,
      traceSink: (line) => out.info(line),
      recording: commandRecording(argv.record, 'apdu'),
      exchangeTimeoutMs: exchangeTimeoutMs(argv),
    });
    const results: { command: string; data: string; sw: string; status: string }[] = [];
    // The JSON document ends up in logs as much as a trace does: the same redaction applies.
    const redact = cliTraceRedactor();
    try {
      for (const { bytes, parsed } of commands) {
        const response: ResponseApdu = argv.raw ? parseRaw(await session.transport.transmit(bytes)) : await session.channel.send(parsed);
        const sw = formatSw(response.sw);
        // The whole answer (chains followed) judged as the answer to this command.
        const shownCommand = redact.command(bytes);
        const shownResponse = redact.response(encodeResponse(response.data, response.sw));
        results.push({
          command: describeCommand(shownCommand),
          data: shownResponse.hideData ? `[redacted ${response.data.length} bytes]` : toHex(response.data),
          sw,
          status: describeStatus(response.sw),
        });
        const shown = results[results.length - 1]?.data ?? '';
        if (!argv.json) out.print(`${shown}${shown.length > 0 ? ' ' : ''}${sw}  ${describeStatus(response.sw)}`);
      }
    } finally {
      await session.close();
    }
    out.result({ reader: session.readerName, exchanges: results });
  },
};

function parseRaw(bytes: Uint8Array): ResponseApdu {
  if (bytes.length < 2) throw new Error(`card answered ${bytes.length} bytes, a response needs at least SW1 SW2`);
  return { data: bytes.subarray(0, bytes.length - 2), sw: (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]! };
}
