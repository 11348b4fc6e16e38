/**
 * `twincard sim ...`: the virtual cards as a product feature, a thin command over `scripts/sim.sh` (which
 * owns the processes: pcscd with vpcd readers, one jCardSim JVM per card, PID files in the run folder
 * `TWINCARD_RUN_DIR`, default `<package>/.run`). This module adds what a person needs around it: the
 * prerequisites checked first with the apt command that installs them, a refusal to start next to a pcscd
 * that another run folder (or the system) owns, the developer's own applet, and `status --json`.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { packageRoot, simScriptPath } from '../paths.js';
import { resolveReader } from '../../readers/index.js';
import { simReaderName, simStatus, type SimReaderStatus, type SimStatus } from '../sim-status.js';

/** Where vsmartcard-vpcd installs its pcscd driver on Debian (scripts/sim.sh loads it from there). */
const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';

interface SimUpOptions extends GlobalOptions {
  readonly cards: number | undefined;
  readonly applet: string | undefined;
  readonly class: string | undefined;
  readonly aid: string | undefined;
  readonly root: string | undefined;
}

interface SimRootOptions extends SimCardOptions {
  readonly pem: string | undefined;
}

interface SimCardOptions extends GlobalOptions {
  readonly card: string;
}

interface SimPutOptions extends SimCardOptions {
  readonly reader: string;
}

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['TWINCARD_RUN_DIR'];
  return dir !== undefined && dir !== '' ? resolve(dir) : join(packageRoot(), '.run');
}

const up: CommandModule<GlobalOptions, SimUpOptions> = {
  command: 'up',
  describe: 'Start pcscd and N virtual cards (idempotent)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .option('cards', { type: 'number', describe: 'how many cards (default 4, or as many as are running)' })
      .option('applet', { type: 'string', describe: 'a jar with your own applet instead of the reference one (with --class and --aid)' })
      .option('class', { type: 'string', describe: 'the applet class in --applet, e.g. com.example.WalletApplet' })
      .option('aid', { type: 'string', describe: 'the AID to install it under, 5..16 bytes hex' })
      .option('root', {
        type: 'string',
        describe: 'a secp256k1 public key PEM: the manufacturer root every card is installed with (default the TEST key)',
      })
      .example('$0 sim up --cards 4', 'four cards with the reference applet')
      .example('$0 sim up --applet my.jar --class com.example.Wallet --aid F07477696E6361726401', 'your applet'),
  handler: async (argv: ArgumentsCamelCase<SimUpOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const args = ['up', ...upArguments(argv)];
    checkPrerequisites();
    refuseForeignPcscd(runDir());
    await runSimScript(args);
    await reportStatus(out, runDir());
  },
};

const down: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'down',
  describe: 'Stop the cards and the pcscd that `sim up` started (by PID file)',
  builder: (yargs: Argv<GlobalOptions>) => yargs,
  handler: async (argv: ArgumentsCamelCase<GlobalOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    await runSimScript(['down']);
    out.result({ runDir: runDir(), stopped: true });
  },
};

const status: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'status',
  describe: 'Show pcscd and the cards: processes, control state, what pcscd sees (exit 3 if pcscd is down, 5 if a card is)',
  builder: (yargs: Argv<GlobalOptions>) => yargs,
  handler: async (argv: ArgumentsCamelCase<GlobalOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const current = await reportStatus(out, runDir());
    if (!current.pcscd.running) throw new CommandFailure(`sim status: pcscd is not running (${current.runDir}); start it with twincard sim up`, ExitCode.PCSC_UNAVAILABLE);
    if (!current.ok) throw new CommandFailure('sim status: a card process is not running; twincard sim up restarts it', ExitCode.NO_CARD);
  },
};

function cardControl(name: 'pull' | 'insert' | 'wipe' | 'pull-after-next', describe: string): CommandModule<GlobalOptions, SimCardOptions> {
  return {
    command: `${name} <card>`,
    describe,
    builder: (yargs: Argv<GlobalOptions>) =>
      yargs.positional('card', {
        type: 'string',
        demandOption: true,
        describe: 'card index (0-based, as sim status lists them), or its reader: a name or a unique fragment',
      }),
    handler: async (argv: ArgumentsCamelCase<SimCardOptions>) => {
      const out = Output.fromEnvironment(argv.json);
      const k = await cardIndex(name, argv.card, runDir());
      if (!existsSync(join(runDir(), `card-${k}.sock`))) {
        throw new CommandFailure(`sim ${name}: card ${k} is not running in ${runDir()} (twincard sim status lists the cards)`, ExitCode.NO_CARD);
      }
      await runSimScript([name, String(k)]);
      out.result({ card: k, reader: simReaderName(k), action: name });
    },
  };
}

/**
 * `sim root K [PEM]`: card K wiped and installed again with another manufacturer root (docs/protocol.md
 * section 6, "Installation": the root is fixed at installation, so changing it is a new card); no PEM: which
 * root it has now (also in `sim status --json`).
 */
const root: CommandModule<GlobalOptions, SimRootOptions> = {
  command: 'root <card> [pem]',
  describe: 'Wipe card K and install it again with the root public key in PEM (no PEM: show its root)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('card', { type: 'string', demandOption: true, describe: 'card index (0-based, as sim status lists them)' })
      .positional('pem', { type: 'string', describe: 'a secp256k1 public (or private) key PEM' })
      .example('$0 sim root 2 fixtures/test-manufacturer/other-public-key.pem', 'card 2 trusts the other TEST root'),
  handler: async (argv: ArgumentsCamelCase<SimRootOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const k = await cardIndex('root', argv.card, runDir());
    if (!existsSync(join(runDir(), `card-${k}.sock`))) {
      throw new CommandFailure(`sim root: card ${k} is not running in ${runDir()} (twincard sim status lists the cards)`, ExitCode.NO_CARD);
    }
    if (argv.pem !== undefined) {
      const pem = resolve(argv.pem);
      if (!existsSync(pem) || !statSync(pem).isFile()) throw new UsageError(`sim root ${argv.pem}: no such file`);
      await runSimScript(['root', String(k), pem]);
    }
    const card = (await simStatus(runDir())).cards.find((c) => c.index === k);
    out.result({ card: k, reader: simReaderName(k), action: argv.pem === undefined ? 'show-root' : 'root', root: card?.root ?? null });
  },
};

/**
 * `sim put K R`: a person with one reader swapping cards in it. The card in R leaves (EEPROM kept; in no
 * reader until put somewhere), K leaves its own reader, pcscd sees R empty, then K goes in: a fresh tap.
 */
const put: CommandModule<GlobalOptions, SimPutOptions> = {
  command: 'put <card> <reader>',
  describe: 'Put card K into reader R (the card there leaves it; pcscd sees a removal, then an insertion)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('card', { type: 'string', demandOption: true, describe: 'card index (0-based, as sim status lists them)' })
      .positional('reader', {
        type: 'string',
        demandOption: true,
        describe: 'reader index (0-based, as sim status lists them), or a reader name or unique fragment',
      })
      .example('$0 sim put 1 0', 'card 1 into reader 0; the card that was there is in no reader'),
  handler: async (argv: ArgumentsCamelCase<SimPutOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const dir = runDir();
    const before = await simStatus(dir);
    const cardText = argv.card;
    if (!/^[0-9]{1,3}$/.test(cardText)) throw new UsageError(`sim put ${cardText}: the card is an index (0-based, as sim status lists them)`);
    const k = Number(cardText);
    if (before.cards.find((c) => c.index === k)?.running !== true) {
      throw new CommandFailure(`sim put: card ${k} is not running in ${dir} (twincard sim status lists the cards)`, ExitCode.NO_CARD);
    }
    const r = readerIndex(argv.reader, before.readers.map((reader) => reader.name));
    const displaced = before.readers[r]?.card ?? null;
    await runSimScript(['put', String(k), String(r)]);
    out.result({ card: k, reader: simReaderName(r), readerIndex: r, action: 'put', displaced: displaced === k ? null : displaced });
  },
};

/** A reader index as given, or the index of the reader `text` names (exact, or a unique fragment). */
function readerIndex(text: string, names: readonly string[]): number {
  const index = /^[0-9]{1,3}$/.test(text) ? Number(text) : undefined;
  if (index !== undefined) {
    if (index >= names.length) throw new UsageError(`sim put: reader ${index} does not exist (readers 0..${names.length - 1})`);
    return index;
  }
  try {
    return names.indexOf(resolveReader(names, text));
  } catch (error) {
    throw new UsageError(`sim put ${text}: ${(error as Error).message}`);
  }
}

/**
 * A card index as given, or the card whose reader `text` names (exact, or a unique case-insensitive fragment):
 * the card in that reader now (after `sim put`), else the card whose own reader it is.
 */
async function cardIndex(command: string, text: string, dir: string): Promise<number> {
  if (/^[0-9]{1,3}$/.test(text)) return Number(text);
  const current = await simStatus(dir);
  const names = current.readers.map((r) => r.name);
  let name: string;
  try {
    name = resolveReader(names, text);
  } catch (error) {
    throw new UsageError(`sim ${command} ${text}: ${(error as Error).message}`);
  }
  const reader = current.readers[names.indexOf(name)] as SimReaderStatus;
  return reader.card ?? reader.index;
}

export const simCommand: CommandModule<GlobalOptions, GlobalOptions> = {
  command: 'sim <command>',
  describe: 'Virtual cards: pcscd + jCardSim cards in vpcd reader slots (up, down, status, pull, insert, put, wipe, root)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .command(up)
      .command(down)
      .command(status)
      .command(cardControl('pull', 'Take card K out of its reader (its persistent memory is kept)'))
      .command(cardControl('insert', 'Put card K back into the reader it was last in (transient memory cleared, as on power-up)'))
      .command(put)
      .command(cardControl('wipe', 'Make card K factory-fresh (state FACTORY), with the root it has'))
      .command(root)
      .command(cardControl('pull-after-next', 'Let card K process the next command, then pull it before the answer arrives'))
      .demandCommand(1, 'name a sim command: up, down, status, pull, insert, put, wipe, root'),
  handler: () => undefined,
};

function upArguments(argv: SimUpOptions): string[] {
  const args: string[] = [];
  if (argv.cards !== undefined) {
    if (!Number.isInteger(argv.cards) || argv.cards < 1 || argv.cards > 64) throw new UsageError(`--cards: 1..64, got ${argv.cards}`);
    args.push('--cards', String(argv.cards));
  }
  const applet = [argv.applet, argv.class, argv.aid];
  if (applet.some((v) => v !== undefined)) {
    if (applet.some((v) => v === undefined)) throw new UsageError('--applet, --class and --aid go together: the jar, the applet class in it, and its AID');
    const jar = resolve(argv.applet as string);
    if (!existsSync(jar) || !statSync(jar).isFile()) throw new UsageError(`--applet ${argv.applet!}: no such file`);
    if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(argv.class as string)) {
      throw new UsageError(`--class ${argv.class!}: not a Java class name (e.g. com.example.WalletApplet)`);
    }
    if (!/^([0-9A-Fa-f]{2}){5,16}$/.test(argv.aid as string)) throw new UsageError(`--aid ${argv.aid!}: an AID is 5..16 bytes of hex`);
    args.push('--applet', jar, '--class', argv.class as string, '--aid', (argv.aid as string).toUpperCase());
  }
  if (argv.root !== undefined) {
    const pem = resolve(argv.root);
    if (!existsSync(pem) || !statSync(pem).isFile()) throw new UsageError(`--root ${argv.root}: no such file`);
    args.push('--root', pem);
  }
  return args;
}

/** A program on PATH (what `command -v` in sim.sh finds). */
function onPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env['PATH'] ?? '').split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, program), fsConstants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Everything `sim up` needs, checked before anything starts; one message listing all that is missing and
 * the one apt-get line that installs it.
 */
function checkPrerequisites(env: NodeJS.ProcessEnv = process.env): void {
  const missing: { what: string; pkg: string }[] = [];
  if (!onPath('java', env)) missing.push({ what: 'java (a Java 17+ runtime)', pkg: 'default-jre-headless' });
  if (!onPath('pcscd', env)) missing.push({ what: 'pcscd', pkg: 'pcscd' });
  if (!existsSync(VPCD_DRIVER)) missing.push({ what: `vpcd (${VPCD_DRIVER})`, pkg: 'vsmartcard-vpcd' });
  if (!onPath('python3', env)) missing.push({ what: 'python3 (drives the cards\' control sockets)', pkg: 'python3' });
  if (missing.length > 0) {
    throw new CommandFailure(
      `sim up: missing ${missing.map((m) => m.what).join(', ')}. Install with: sudo apt-get install ${missing.map((m) => m.pkg).join(' ')}`,
      ExitCode.PCSC_UNAVAILABLE,
    );
  }
  const root = packageRoot();
  if (!existsSync(join(root, 'fixtures', 'target', 'twincard-fixture.jar'))) {
    throw new CommandFailure(`sim up: the virtual card fixture is not built: run ${join(root, 'scripts', 'setup.sh')}`, ExitCode.UNEXPECTED);
  }
}

/**
 * pcscd is a machine-wide singleton (one /run/pcscd socket): a `sim up` for one run folder must never start
 * a second pcscd, nor adopt one that another run folder or the system started. Read-only: /proc is only read.
 */
function refuseForeignPcscd(dir: string): void {
  const ours = readPidFile(join(dir, 'pcscd.pid'));
  const foreign = pcscdProcesses().filter((pid) => pid !== ours);
  if (foreign.length > 0) {
    throw new CommandFailure(
      `sim up: a pcscd that this run folder (${dir}) did not start is running (pid ${foreign.join(', ')}). ` +
        'pcscd is one per machine: use the run folder that started it (TWINCARD_RUN_DIR), or stop it first',
      ExitCode.PCSC_UNAVAILABLE,
    );
  }
  // No pcscd process, yet its socket is there: systemd's socket activation (Debian enables pcscd.socket on
  // desktops) would start the system's pcscd on the first client, beside or instead of ours.
  if ((ours === undefined || !pcscdProcesses().includes(ours)) && existsSync(PCSCD_SOCKET)) {
    throw new CommandFailure(
      `sim up: ${PCSCD_SOCKET} exists but no pcscd runs: probably systemd socket activation. ` +
        'Stop it first: sudo systemctl stop pcscd.socket pcscd.service (or remove a stale socket)',
      ExitCode.PCSC_UNAVAILABLE,
    );
  }
}

/** Where pcscd listens (fixed at build time in Debian's pcsc-lite). */
const PCSCD_SOCKET = '/run/pcscd/pcscd.comm';

function pcscdProcesses(): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'pcscd') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function readPidFile(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return /^[0-9]+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs scripts/sim.sh; its progress and table go to stderr (our stdout is for --json only). */
function runSimScript(args: readonly string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(simScriptPath(), [...args], { stdio: ['ignore', 2, 2], env: { ...process.env, TWINCARD_RUN_DIR: runDir() } });
    child.on('error', (error) => reject(new CommandFailure(`cannot run ${simScriptPath()}: ${error.message}`, ExitCode.UNEXPECTED)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new CommandFailure(`sim ${args[0]!} failed (${signal ?? `exit ${String(code)}`}): see the lines above`, ExitCode.UNEXPECTED));
    });
  });
}

async function reportStatus(out: Output, dir: string): Promise<SimStatus> {
  const current = await simStatus(dir);
  out.info(`run folder ${current.runDir}`);
  out.info(`pcscd      ${current.pcscd.running ? `running (pid ${current.pcscd.pid ?? '?'})` : 'not running'}`);
  if (current.applets.length > 0) out.info(`applets    ${current.applets.join(', ')}`);
  for (const card of current.cards) {
    const seen = card.present === null ? '' : card.present ? '  pcscd: card present' : '  pcscd: no card';
    const applet = card.applet === null ? '' : `  applet ${card.applet}`;
    const where = card.inReader === null ? 'in no reader' : `in reader ${card.inReader} (${simReaderName(card.inReader)})`;
    out.info(`card ${String(card.index).padEnd(3)} ${card.running ? `pid ${card.pid ?? '?'}` : 'dead'} ` +
      ` ${where}  ${card.control ?? '-'}${seen}${applet}`);
  }
  for (const reader of current.readers) {
    const seen = reader.present === null ? '' : reader.present ? '  pcscd: card present' : '  pcscd: no card';
    out.info(`reader ${String(reader.index).padEnd(3)} ${reader.name.padEnd(22)} ` +
      `${reader.card === null ? 'no card' : `card ${reader.card}`}${seen}`);
  }
  out.result(current);
  return current;
}
