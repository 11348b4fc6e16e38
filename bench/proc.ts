/**
 * CPU accounting from Linux /proc for the benchmarks (not part of twincard: the library runs anywhere,
 * these figures only on Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** utime + stime of a process and its threads, dead ones included, ms (10 ms ticks: CLK_TCK is 100 on Linux). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // the command name may hold spaces
  return (Number(fields[11]) + Number(fields[12])) * 10; // fields 14 and 15 of proc(5), counted from state = 3
}

/**
 * Time on CPU of a process's live threads, ms, at nanosecond resolution (schedstat's first field). For
 * the card JVMs, whose threads live as long as the card: 10 ms ticks are too coarse for a 50 ms backup.
 */
export function threadsCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e6;
}

/** All CPUs' busy and total time so far, in jiffies (/proc/stat: user nice system idle iowait irq softirq steal). */
export function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** The PID in a sim run folder's PID file (`card-3.pid`, `pcscd.pid`). */
export function simPid(runDir: string, file: string): number {
  return Number(readFileSync(join(runDir, file), 'utf8').trim());
}
