/**
 * Linux /proc accounting of one process (all its threads): CPU time from /proc/<pid>/stat, memory from
 * /proc/<pid>/status. Used by the load generator (server CPU over the measured window) and by run.ts
 * (server RSS).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clockTicks: number | null = null;

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux almost always). */
export function clkTck(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of the whole process (every thread), in seconds. proc(5): fields 14 and 15. */
export function processCpuSeconds(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  return (utime + stime) / clkTck();
}

export interface MemoryStatus {
  vmRssBytes: number;
  rssAnonBytes: number;
  rssFileBytes: number;
  threads: number;
}

/** VmRSS, RssAnon, RssFile (kB in the file) of a process, in bytes. */
export function processMemory(pid: number): MemoryStatus {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return match === null ? 0 : Number(match[1]) * 1024;
  };
  const threads = /^Threads:\s+(\d+)/m.exec(text);
  return { vmRssBytes: kb('VmRSS'), rssAnonBytes: kb('RssAnon'), rssFileBytes: kb('RssFile'), threads: threads === null ? 0 : Number(threads[1]) };
}

/** Exact percentile (nearest rank) of an ascending-sorted array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface CpuSplit {
  userS: number;
  systemS: number;
}

function statTimes(text: string): CpuSplit & { name: string } {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const rest = text.slice(close + 2).split(' ');
  return { name: text.slice(open + 1, close), userS: Number(rest[14 - 3]) / clkTck(), systemS: Number(rest[15 - 3]) / clkTck() };
}

/** User and system CPU of the whole process. */
export function processCpuSplit(pid: number): CpuSplit {
  const t = statTimes(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return { userS: t.userS, systemS: t.systemS };
}

/** User and system CPU per thread (/proc/<pid>/task/<tid>/stat), keyed by `<tid> <thread name>`. */
export function threadCpu(pid: number): Record<string, CpuSplit> {
  const out: Record<string, CpuSplit> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const t = statTimes(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      out[`${tid} ${t.name}`] = { userS: t.userS, systemS: t.systemS };
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** Per-thread CPU spent between two threadCpu() readings; threads with no CPU are left out. */
export function threadCpuDelta(before: Record<string, CpuSplit>, after: Record<string, CpuSplit>): Record<string, CpuSplit> {
  const out: Record<string, CpuSplit> = {};
  for (const [key, a] of Object.entries(after)) {
    const b = before[key] ?? { userS: 0, systemS: 0 };
    const d = { userS: +(a.userS - b.userS).toFixed(2), systemS: +(a.systemS - b.systemS).toFixed(2) };
    if (d.userS + d.systemS > 0) out[key] = d;
  }
  return out;
}
