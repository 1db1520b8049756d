/**
 * The control plane's young-generation limit, however the process was started.
 *
 * V8 sizes an isolate's young generation when the isolate is created: `--max-semi-space-size=1` on the command
 * line (npm start, the bin's shebang, the Dockerfile) limits the main thread, but `node bin/ocpp-router.js serve`
 * or `node dist/src/main.js serve` would run with V8's default (semi-spaces of up to 16 MB that grow under a
 * connection storm and stay), and `v8.setFlagsFromString` after start changes nothing for the running isolate.
 * So when the flag is missing, `serve` runs the control plane in a worker thread created with `resourceLimits`
 * (the same limit, applied by Node to the new isolate), and the main thread only forwards signals and the exit
 * code. Shards and the store are worker threads with their own limits either way (shard-supervisor.ts).
 *
 * An application that embeds RouterServer runs the control plane in its own thread and heap settings: it starts
 * node with the flag itself, or calls `RouterServer.start` from a worker it creates with these limits.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

/** V8's young generation is three semi-spaces (two for the scavenger, one for new large objects): 3 MB = 1 MB semi-spaces. */
export const CONTROL_YOUNG_GENERATION_MB = 3;

/** `OCPP_ROUTER_CONTROL_THREAD=main` keeps the control plane on the main thread (a debugger, a profiler); `worker` forces the worker. */
export const CONTROL_THREAD_ENV = 'OCPP_ROUTER_CONTROL_THREAD';

const SIGNALS = ['SIGTERM', 'SIGQUIT', 'SIGINT', 'SIGHUP'] as const;
export type ControlSignal = (typeof SIGNALS)[number];

interface ControlThreadData {
  ocppRouterControlThread: true;
}

/** True in the worker thread that runWorkerControlPlane started. */
export function inControlThread(): boolean {
  return !isMainThread && (workerData as Partial<ControlThreadData> | null)?.ocppRouterControlThread === true;
}

/** Whether V8 was told to keep this thread's young generation small (a flag on the command line or in NODE_OPTIONS). */
export function youngGenerationLimited(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): boolean {
  const flags = [...execArgv, ...nodeOptions.split(/\s+/)];
  return flags.some((flag) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(flag));
}

/**
 * Where `serve` runs its control plane: 'main' when this thread's young generation is already limited (or the
 * runtime is not V8's, as under Bun), 'worker' when it must get the limit from a worker's resourceLimits.
 */
export function controlPlaneHome(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): 'main' | 'worker' {
  if (!isMainThread || process.versions.bun !== undefined) return 'main';
  const forced = env[CONTROL_THREAD_ENV];
  if (forced === 'main' || forced === 'worker') return forced;
  return youngGenerationLimited(execArgv, env.NODE_OPTIONS ?? '') ? 'main' : 'worker';
}

/**
 * Runs `entry` (commands.js, what the process entry main.js would import) with the same arguments in a worker thread with the control plane's
 * young-generation limit, forwards the stop and reload signals to it, and ends the process with its exit code.
 */
export function runWorkerControlPlane(entry: URL, args: readonly string[]): void {
  const worker = new Worker(entry, {
    argv: [...args],
    workerData: { ocppRouterControlThread: true } satisfies ControlThreadData,
    name: 'control',
    resourceLimits: { maxYoungGenerationSizeMb: CONTROL_YOUNG_GENERATION_MB },
    // The worker writes to the process's own stdout and stderr (pino writes to fd 1 directly).
    stdout: false,
    stderr: false,
  });
  for (const signal of SIGNALS) process.on(signal, () => worker.postMessage({ signal }));
  worker.on('error', (error) => {
    process.stderr.write(`ocpp-router: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
  worker.on('exit', (code) => process.exit(code));
}

/** process.on for a signal on the main thread; in the control worker, the signals the main thread forwards. */
export function onSignal(signal: ControlSignal, handler: () => void): void {
  if (!inControlThread()) {
    process.on(signal, handler);
    return;
  }
  parentPort?.on('message', (message: { signal?: string }) => {
    if (message.signal === signal) handler();
  });
}

/**
 * A control plane on a main thread without the flag (an application embedding RouterServer, or
 * OCPP_ROUTER_CONTROL_THREAD=main) keeps V8's default young generation: say so once, with the remedy.
 */
export function warnUnlimitedYoungGeneration(logger: { warn(fields: object, message: string): void }): void {
  if (!isMainThread || process.versions.bun !== undefined || youngGenerationLimited()) return;
  logger.warn({ maxSemiSpaceSize: 'default' }, 'the control plane runs on a main thread without --max-semi-space-size=1: V8 may keep up to ~48 MB of young generation; start node with the flag, or start the router from a worker (docs/architecture.md, "Memory")');
}
