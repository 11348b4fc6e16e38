/**
 * `twincard sim ...`: the virtual cards as a product feature. `up` and `down` run `scripts/sim.sh` (which owns
 * the processes: pcscd with vpcd readers, one jCardSim JVM per card, PID files in the run folder
 * `TWINCARD_RUN_DIR`, default `<package>/.run`), after what a person needs around it: the prerequisites checked
 * first with the apt command that installs them, a refusal to start next to a pcscd that another run folder (or
 * the system) owns, the developer's own applet. Every verb on one card is `src/sim/` (sim.sh's same verbs call
 * this command); this module only parses, confirms and prints.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { confirmOrRefuse } from '../confirm.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import type { GlobalOptions } from '../global-options.js';
import { Output } from '../output.js';
import { packageRoot, simScriptPath } from '../paths.js';
import { resolveReader } from '../../readers/index.js';
import {
  armPullAfterNext,
  cardApplet,
  cardRoot,
  insertCard,
  installApplet,
  pullCard,
  putCard,
  requireRunning,
  RootKeyError,
  rootPointHex,
  setCardRoot,
  SimCardNotRunningError,
  SimControlError,
  simReaderName,
  SimRequestError,
  simStatus,
  wipeCard,
  type SimReaderStatus,
  type SimStatus,
} from '../../sim/index.js';

/** Where vsmartcard-vpcd installs its pcscd driver on Debian (scripts/sim.sh loads it from there). */
const VPCD_DRIVER = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';

interface SimUpOptions extends GlobalOptions {
  readonly cards: number | undefined;
  readonly applet: string | undefined;
  readonly class: string | undefined;
  readonly aid: string | undefined;
  readonly root: string | undefined;
}

interface SimRootOptions extends SimWipeOptions {
  readonly pem: string | undefined;
}

interface SimCardOptions extends GlobalOptions {
  readonly card: string;
}

interface SimWipeOptions extends SimCardOptions {
  readonly force: boolean;
}

interface SimAppletOptions extends SimWipeOptions {
  readonly class: string | undefined;
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
    checkPrerequisites(argv.applet !== undefined);
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
    if (!current.pcscd.running)
      throw new CommandFailure(
        `sim status: pcscd is not running (${current.runDir}); start it with twincard sim up`,
        ExitCode.PCSC_UNAVAILABLE,
      );
    if (!current.ok) throw new CommandFailure('sim status: a card process is not running; twincard sim up restarts it', ExitCode.NO_CARD);
  },
};

/**
 * Runs one verb on the simulator, turning its errors into the documented exit codes: a card that is not running
 * exit 5, a bad request exit 2, a card that refuses or does not answer exit 1 with its own words.
 */
async function simAction<T>(verb: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SimCardNotRunningError) throw new CommandFailure(`sim ${verb}: ${error.message}`, ExitCode.NO_CARD);
    if (error instanceof SimRequestError || error instanceof RootKeyError || error instanceof RangeError) {
      throw new UsageError(`sim ${verb}: ${error.message}`);
    }
    if (error instanceof SimControlError) throw new CommandFailure(`sim ${verb}: ${error.message}`, ExitCode.UNEXPECTED);
    throw error;
  }
}

const cardPositional = {
  type: 'string',
  demandOption: true,
  describe: 'card index (0-based, as sim status lists them), or its reader: a name or a unique fragment',
} as const;

function cardControl(
  name: 'pull' | 'insert' | 'pull-after-next',
  describe: string,
  action: (dir: string, card: number) => Promise<void>,
): CommandModule<GlobalOptions, SimCardOptions> {
  return {
    command: `${name} <card>`,
    describe,
    builder: (yargs: Argv<GlobalOptions>) => yargs.positional('card', cardPositional),
    handler: async (argv: ArgumentsCamelCase<SimCardOptions>) => {
      const out = Output.fromEnvironment(argv.json);
      const dir = runDir();
      const k = await cardIndex(name, argv.card, dir);
      await simAction(name, () => action(dir, k));
      out.result({ card: k, reader: simReaderName(k), action: name });
    },
  };
}

const forceOption = { type: 'boolean', default: false, describe: 'wipe without asking (needed without a terminal)' } as const;

/**
 * Card k (running: checked first, so a wrong K is not asked about) loses everything, so ask, as `reset` does;
 * without a terminal only `--force` goes ahead. `wipe`, `applet CLASS` and `root PEM` all wipe the card.
 */
async function confirmWipe(verb: string, dir: string, k: number, force: boolean): Promise<void> {
  await simAction(verb, async () => requireRunning(dir, k));
  await confirmOrRefuse(
    force,
    `Wipe virtual card ${k} (${simReaderName(k)}): its wallet, id and certificate?`,
    `sim ${verb}`,
    'the card is untouched',
  );
}

/**
 * `sim wipe K`: factory-fresh, everything on the card gone (wallet, id, certificate). Destructive, so it asks
 * first; without a terminal only `--force` wipes (like `reset`).
 */
const wipe: CommandModule<GlobalOptions, SimWipeOptions> = {
  command: 'wipe <card>',
  describe: "Make card K factory-fresh (state FACTORY; the sim's applet, the root it has); asks first, --force does not",
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs.positional('card', cardPositional).option('force', forceOption).example('$0 sim wipe 2 --force', 'for scripts'),
  handler: async (argv: ArgumentsCamelCase<SimWipeOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const dir = runDir();
    const k = await cardIndex('wipe', argv.card, dir);
    await confirmWipe('wipe', dir, k, argv.force);
    await simAction('wipe', () => wipeCard(dir, k));
    out.result({ card: k, reader: simReaderName(k), action: 'wipe' });
  },
};

/**
 * `sim applet K [CLASS]`: card K wiped with another applet class under the twincard AID (the conformance suite's
 * broken variants `dev.twincard.broken.*` are on the fixture's class path); no CLASS: which one it runs.
 * `sim wipe K` puts the sim's own applet back.
 */
const applet: CommandModule<GlobalOptions, SimAppletOptions> = {
  command: 'applet <card> [class]',
  describe: 'Wipe card K and install CLASS under the twincard AID instead (no CLASS: show which class it runs)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .positional('card', cardPositional)
      .positional('class', {
        type: 'string',
        describe: "an Applet class on the fixture's class path, e.g. dev.twincard.broken.MacSkippedApplet",
      })
      .option('force', forceOption)
      .example('$0 sim applet 1 dev.twincard.broken.PinNotDecrementedApplet --force', 'card 1 runs a broken variant')
      .example('$0 sim wipe 1 --force', 'card 1 runs the reference applet again'),
  handler: async (argv: ArgumentsCamelCase<SimAppletOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const dir = runDir();
    const k = await cardIndex('applet', argv.card, dir);
    const wanted = argv.class;
    if (wanted !== undefined) {
      if (!JAVA_CLASS_NAME.test(wanted)) {
        throw new UsageError(`sim applet ${wanted}: not a Java class name (e.g. dev.twincard.broken.MacSkippedApplet)`);
      }
      await confirmWipe('applet', dir, k, argv.force);
      await simAction('applet', async () => {
        try {
          await installApplet(dir, k, wanted);
        } catch (error) {
          // The card's own words: no such class on its class path, or a class that is no Applet. Either is the
          // caller's mistake, and the card was not touched.
          if (error instanceof SimControlError && /not found on the class path|is not a javacard/.test(error.message)) {
            throw new SimRequestError(error.message);
          }
          throw error;
        }
      });
    }
    const running = await simAction('applet', () => cardApplet(dir, k));
    out.print(`card ${k} (${simReaderName(k)}) runs ${running ?? 'no applet'} under the twincard AID`);
    out.result({ card: k, reader: simReaderName(k), action: wanted === undefined ? 'show-applet' : 'applet', applet: running });
  },
};

const JAVA_CLASS_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

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
      .positional('card', cardPositional)
      .positional('pem', { type: 'string', describe: 'a secp256k1 public (or private) key PEM' })
      .option('force', forceOption)
      .example('$0 sim root 2 fixtures/test-manufacturer/other-public-key.pem --force', 'card 2 trusts the other TEST root'),
  handler: async (argv: ArgumentsCamelCase<SimRootOptions>) => {
    const out = Output.fromEnvironment(argv.json);
    const dir = runDir();
    const k = await cardIndex('root', argv.card, dir);
    const pem = argv.pem;
    if (pem !== undefined) {
      // The key is read before the question: a wrong PEM is refused with the card untouched and nothing asked.
      const point = await simAction('root', async () => rootPointHex(resolve(pem)));
      await confirmWipe('root', dir, k, argv.force);
      await simAction('root', () => setCardRoot(dir, k, point));
    }
    const now = await simAction('root', () => cardRoot(dir, k));
    out.print(`card ${k} root ${now}`);
    out.result({ card: k, reader: simReaderName(k), action: pem === undefined ? 'show-root' : 'root', root: now });
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
    const cardText = argv.card;
    if (!/^[0-9]{1,3}$/.test(cardText))
      throw new UsageError(`sim put ${cardText}: the card is an index (0-based, as sim status lists them)`);
    const k = Number(cardText);
    const before = await simStatus(dir);
    if (before.cards.find((c) => c.index === k)?.running !== true) {
      throw new CommandFailure(`sim put: ${new SimCardNotRunningError(dir, k).message}`, ExitCode.NO_CARD);
    }
    const r = readerIndex(
      argv.reader,
      before.readers.map((reader) => reader.name),
    );
    const displaced = await simAction('put', () => putCard(dir, k, r));
    const left = displaced === null ? '' : `; card ${displaced} left it and is in no reader`;
    out.print(`card ${k} is in reader ${r} (${simReaderName(r)})${left}`);
    out.result({ card: k, reader: simReaderName(r), readerIndex: r, action: 'put', displaced });
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
  describe: 'Virtual cards: pcscd + jCardSim cards in vpcd reader slots (up, down, status, pull, insert, put, wipe, applet, root)',
  builder: (yargs: Argv<GlobalOptions>) =>
    yargs
      .command(up)
      .command(down)
      .command(status)
      .command(cardControl('pull', 'Take card K out of its reader (its persistent memory is kept)', pullCard))
      .command(
        cardControl('insert', 'Put card K back into the reader it was last in (transient memory cleared, as on power-up)', insertCard),
      )
      .command(put)
      .command(wipe)
      .command(applet)
      .command(root)
      .command(
        cardControl('pull-after-next', 'Let card K process the next command, then pull it before the answer arrives', armPullAfterNext),
      )
      .demandCommand(1, 'name a sim command: up, down, status, pull, insert, put, wipe, applet, root, pull-after-next'),
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
    if (applet.some((v) => v === undefined))
      throw new UsageError('--applet, --class and --aid go together: the jar, the applet class in it, and its AID');
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
function checkPrerequisites(ownApplet: boolean, env: NodeJS.ProcessEnv = process.env): void {
  const missing: { what: string; pkg: string }[] = [];
  if (!onPath('java', env)) missing.push({ what: 'java (a Java 17+ runtime)', pkg: 'default-jre-headless' });
  if (!onPath('pcscd', env)) missing.push({ what: 'pcscd', pkg: 'pcscd' });
  if (!existsSync(VPCD_DRIVER)) missing.push({ what: `vpcd (${VPCD_DRIVER})`, pkg: 'vsmartcard-vpcd' });
  if (ownApplet && !onPath('python3', env)) {
    missing.push({ what: 'python3 (sim.sh looks for --class in the --applet jar)', pkg: 'python3' });
  }
  if (missing.length > 0) {
    throw new CommandFailure(
      `sim up: missing ${missing.map((m) => m.what).join(', ')}. Install with: sudo apt-get install ${missing.map((m) => m.pkg).join(' ')}`,
      ExitCode.PCSC_UNAVAILABLE,
    );
  }
  const root = packageRoot();
  if (!existsSync(join(root, 'fixtures', 'target', 'twincard-fixture.jar'))) {
    throw new CommandFailure(
      `sim up: the virtual card fixture is not built: run ${join(root, 'scripts', 'setup.sh')}`,
      ExitCode.UNEXPECTED,
    );
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
      else
        reject(
          new CommandFailure(`sim ${args[0]!} failed (${signal ?? `exit ${String(code)}`}): see the lines above`, ExitCode.UNEXPECTED),
        );
    });
  });
}

async function reportStatus(out: Output, dir: string): Promise<SimStatus> {
  const current = await simStatus(dir);
  out.print(`run folder ${current.runDir}`);
  out.print(`pcscd      ${current.pcscd.running ? `running (pid ${current.pcscd.pid ?? '?'})` : 'not running'}`);
  if (current.applets.length > 0) out.print(`applets    ${current.applets.join(', ')}`);
  for (const card of current.cards) {
    const seen = card.present === null ? '' : card.present ? '  pcscd: card present' : '  pcscd: no card';
    const applet = card.applet === null ? '' : `  applet ${card.applet}`;
    const where = card.inReader === null ? 'in no reader' : `in reader ${card.inReader} (${simReaderName(card.inReader)})`;
    out.print(
      `card ${String(card.index).padEnd(3)} ${card.running ? `pid ${card.pid ?? '?'}` : 'dead'}  ${where}  ` +
        `${card.control ?? '-'}${seen}${applet}`,
    );
  }
  for (const reader of current.readers) {
    const seen = reader.present === null ? '' : reader.present ? '  pcscd: card present' : '  pcscd: no card';
    out.print(
      `reader ${String(reader.index).padEnd(3)} ${reader.name.padEnd(22)} ` +
        `${reader.card === null ? 'no card' : `card ${reader.card}`}${seen}`,
    );
  }
  out.result(current);
  return current;
}
