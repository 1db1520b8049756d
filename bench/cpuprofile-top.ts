/**
 * Top functions of a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- heartbeat --cpu-prof`):
 * self time and inclusive time per function, aggregated over call sites.
 *
 *   node dist/bench/cpuprofile-top.js <file.cpuprofile> [--top 30] [--after-s S] [--until-s S] [--no-idle]
 *
 * --after-s / --until-s keep the samples taken in that window, in seconds from the start of the profile (a
 * steady window after a boot ramp and before the stop); --no-idle leaves the (idle) samples out of the total.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: node dist/bench/cpuprofile-top.js <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const topIndex = process.argv.indexOf('--top');
const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 30;
const afterIndex = process.argv.indexOf('--after-s');
const afterUs = afterIndex > 0 ? Number(process.argv[afterIndex + 1]) * 1e6 : 0;
const untilIndex = process.argv.indexOf('--until-s');
const untilUs = untilIndex > 0 ? Number(process.argv[untilIndex + 1]) * 1e6 : Infinity;
const noIdle = process.argv.includes('--no-idle');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}
const selfUs = new Map<number, number>();
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  if (at < afterUs || at > untilUs || (noIdle && byId.get(id)!.callFrame.functionName === '(idle)')) continue;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
}
const key = (node: ProfileNode): string => {
  const f = node.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
};
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  total += us;
  const k = key(byId.get(id)!);
  self.set(k, (self.get(k) ?? 0) + us);
  // Inclusive: every distinct function on the stack, once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const ck = key(byId.get(cur)!);
    if (seen.has(ck)) continue;
    seen.add(ck);
    inclusive.set(ck, (inclusive.get(ck) ?? 0) + us);
  }
}
const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled${afterUs > 0 || untilUs < Infinity ? ` in [${afterUs / 1e6} s, ${untilUs / 1e6} s]` : ''}${noIdle ? ', idle left out' : ''}\n\nself time:\n`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write('\ninclusive time:\n');
for (const [k, us] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
