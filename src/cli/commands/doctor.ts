/**
 * `twincard doctor`: what stands between this machine and a working card, one line per check, each OK or what
 * to do: pcscd, the readers and their drivers, a card in each, the twincard applet and its protocol version,
 * the trusted manufacturer roots. Reads only: the one command sent to a card is SELECT (in shared mode).
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { StatusWordError } from '../../apdu/index.js';
import { TwincardCard } from '../../protocol/card.js';
import { PROTOCOL_VERSION } from '../../protocol/constants.js';
import { PcscService, resolveReader, type ReaderState, type SessionRecording } from '../../readers/index.js';
import { CommandFailure, exitCodeFor } from '../errors.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { commandRecording, savingRecording } from '../record.js';
import { loadTrustedRoots, withTrustOptions } from '../trust.js';

export interface DoctorCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do, when not ok. */
  readonly fix?: string;
}

/** Where pcscd's drivers describe the readers they serve (Debian's pcscd and libccid). */
const DRIVER_DIR = '/usr/lib/pcsc/drivers';
const TWINCARD_AID_HEX = 'F07477696E6361726401';

interface DoctorOptions extends GlobalOptions {
  readonly trustTestRoot: boolean;
  readonly root: string[] | undefined;
}

export const doctorCommand: CommandModule<GlobalOptions, DoctorOptions> = {
  command: 'doctor',
  describe: 'Check pcscd, readers and drivers, the card, the applet and its protocol version, the trusted roots',
  builder: (yargs: Argv<GlobalOptions>) =>
    withTrustOptions(yargs)
      .example('$0 doctor', 'every reader')
      .example('$0 doctor --reader ACR122 --trust-test-root', 'one reader, virtual cards trusted') as unknown as Argv<DoctorOptions>,
  handler: async (argv: ArgumentsCamelCase<DoctorOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    // --record: the SELECTs it sends, one presentation per card, for a bug report.
    const recording = commandRecording(argv.record, 'doctor');
    const { checks, failure } = await savingRecording(
      recording,
      (line) => out.info(line),
      () => runChecks(argv, recording?.session),
    );
    for (const c of checks) out.print(`${c.ok ? 'OK  ' : 'FAIL'}  ${c.check}: ${c.detail}${c.fix === undefined ? '' : ` -> ${c.fix}`}`);
    out.result({ ok: failure === undefined, checks });
    if (failure !== undefined) throw new CommandFailure(`doctor: ${failure.check}: ${failure.detail}`, failure.code);
  },
};

interface Failure {
  readonly check: string;
  readonly detail: string;
  readonly code: ExitCodeValue;
}

async function runChecks(
  argv: DoctorOptions,
  recording: SessionRecording | undefined,
): Promise<{ checks: DoctorCheck[]; failure?: Failure }> {
  const checks: DoctorCheck[] = [];
  let failure: Failure | undefined;
  const fail = (check: DoctorCheck, code: ExitCodeValue) => {
    checks.push(check);
    failure ??= { check: check.check, detail: check.detail, code };
  };

  const roots = rootsCheck(argv);
  if (roots.ok) checks.push(roots);
  else fail(roots, ExitCode.NOT_GENUINE);

  let service: PcscService;
  try {
    service = PcscService.open();
  } catch (error) {
    fail(
      {
        check: 'pcscd',
        ok: false,
        detail: (error as Error).message,
        fix: 'start it (sudo systemctl start pcscd), or for virtual cards: twincard sim up',
      },
      exitCodeFor(error),
    );
    return { checks, ...(failure === undefined ? {} : { failure }) };
  }
  try {
    checks.push({ check: 'pcscd', ok: true, detail: 'reachable' });
    const readers = await service.waitForReaders({ timeoutMs: 1500 });
    if (readers.length === 0) {
      fail(
        { check: 'readers', ok: false, detail: 'none', fix: 'plug in a reader (or twincard sim up for virtual ones)' },
        ExitCode.NO_READER,
      );
      return { checks, ...(failure === undefined ? {} : { failure }) };
    }
    let chosen: ReaderState[] = readers;
    if (argv.reader !== undefined) {
      try {
        const name = resolveReader(
          readers.map((r) => r.name),
          argv.reader,
        );
        chosen = readers.filter((r) => r.name === name);
      } catch (error) {
        fail({ check: 'readers', ok: false, detail: (error as Error).message, fix: 'twincard readers lists them' }, exitCodeFor(error));
        return { checks, ...(failure === undefined ? {} : { failure }) };
      }
    }
    const drivers = readerDrivers();
    for (const reader of chosen) {
      checks.push({ check: `reader ${reader.name}`, ok: true, detail: `driver ${driverFor(reader.name, drivers)}` });
      if (!reader.cardPresent) {
        fail(
          { check: `card in ${reader.name}`, ok: false, detail: 'no card', fix: 'present a card (or twincard sim insert K)' },
          ExitCode.NO_CARD,
        );
        continue;
      }
      const applet = await appletCheck(service, reader.name, recording);
      if (applet.ok) checks.push(applet);
      else fail(applet, ExitCode.CARD_REFUSED);
    }
  } finally {
    service.close();
  }
  return { checks, ...(failure === undefined ? {} : { failure }) };
}

/** The roots a card would be judged against (built in, config file, --root, --trust-test-root). */
function rootsCheck(argv: DoctorOptions): DoctorCheck {
  try {
    const roots = loadTrustedRoots({ trustTestRoot: argv.trustTestRoot, ...(argv.root === undefined ? {} : { rootFiles: argv.root }) });
    if (roots.length === 0) {
      return {
        check: 'trusted roots',
        ok: false,
        detail: 'none',
        fix: 'add a manufacturer root (--root PEM, or "roots" in the config file; --trust-test-root for virtual cards)',
      };
    }
    const names = roots.map((r) => `${r.label}${r.test ? ' (TEST: proves nothing)' : ''}`);
    return { check: 'trusted roots', ok: true, detail: names.join(', ') };
  } catch (error) {
    return { check: 'trusted roots', ok: false, detail: (error as Error).message, fix: 'fix the config file it names' };
  }
}

/** SELECT the twincard applet (shared mode, the card left as it was) and say what answered. */
async function appletCheck(service: PcscService, reader: string, recording: SessionRecording | undefined): Promise<DoctorCheck> {
  const check = `applet in ${reader}`;
  let card;
  try {
    card = await service.connect(reader, { share: 'shared', protocol: 'any' });
  } catch (error) {
    return {
      check,
      ok: false,
      detail: (error as Error).message,
      fix: 'another program may hold the card exclusively: close it, or tap again',
    };
  }
  const recorded = recording?.attach(card, { reader, atr: card.atr });
  try {
    const info = await new TwincardCard(recorded ?? card).select();
    return { check, ok: true, detail: `AID ${TWINCARD_AID_HEX}, protocol version ${info.version}, state ${info.state}` };
  } catch (error) {
    if (error instanceof StatusWordError && error.sw === 0x6a82) {
      return {
        check,
        ok: false,
        detail: `no twincard applet (SELECT ${TWINCARD_AID_HEX} answered 6A82)`,
        fix: 'install it: docs/real-cards.md',
      };
    }
    return {
      check,
      ok: false,
      detail: (error as Error).message,
      fix: `this host speaks protocol version ${PROTOCOL_VERSION}: install the matching applet or host (docs/real-cards.md)`,
    };
  } finally {
    recorded?.detach();
    await card.disconnect('leave').catch(() => undefined);
  }
}

/**
 * Reader friendly names -> the driver bundle that declares them (libccid's Info.plist lists every reader it
 * supports by name). Unreadable or absent files give an empty map: the check then says "unknown".
 */
function readerDrivers(dir = DRIVER_DIR): Map<string, string> {
  const drivers = new Map<string, string>();
  let bundles: string[];
  try {
    bundles = readdirSync(dir).filter((b) => b.endsWith('.bundle'));
  } catch {
    return drivers;
  }
  for (const bundle of bundles) {
    let plist: string;
    try {
      plist = readFileSync(join(dir, bundle, 'Contents', 'Info.plist'), 'utf8');
    } catch {
      continue;
    }
    const names = /<key>ifdFriendlyName<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(plist)?.[1] ?? '';
    for (const match of names.matchAll(/<string>([^<]*)<\/string>/g)) drivers.set(match[1] as string, bundle);
  }
  return drivers;
}

/** pcscd names a reader "FRIENDLY NAME 00 00" (slot numbers appended): look the friendly part up. */
export function driverFor(readerName: string, drivers: ReadonlyMap<string, string>): string {
  if (/^Virtual PCD( \d+)? \d\d \d\d$/.test(readerName)) return 'vpcd (vsmartcard virtual reader: twincard sim)';
  const friendly = readerName.replace(/( [0-9A-F]{2}){2}$/, '');
  return drivers.get(friendly) ?? 'unknown (not in any driver bundle under /usr/lib/pcsc/drivers: a serial or custom driver)';
}
