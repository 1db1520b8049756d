/**
 * The commands behind the process entry (main.ts): CLI, configuration, start, signals. With main.ts, the only
 * place that calls process.exit. It runs on the main thread, or in the control worker (control/control-thread.ts).
 *   QUIT, TERM: graceful stop (stop accepting, finish in-flight work up to server.shutdownTimeoutMs,
 *               close stations with 1001).  INT: fast stop (a second INT exits at once).
 *   HUP: reload the configuration file and environment; an invalid one is reported and ignored.
 */
import { readFileSync } from 'node:fs';
import { parseCli, USAGE } from './cli.js';
import { loadConfig, formatConfigErrors, packageRoot } from './config/load.js';
import { hashPassword } from './config/password-hash.js';
import { createLogger, type Logger } from './logger.js';
import { apiAccessNotice } from './http/api-auth.js';
import { RouterServer } from './control/router.js';
import { createApi } from './api/index.js';
import { inControlThread, onSignal, CONTROL_YOUNG_GENERATION_MB } from './control/control-thread.js';
import type { Config } from './config/types.js';
// Charge point emulator: `emulate` and `serve --emulate N` (src/emulator/cli.ts).
import { EMULATE_USAGE, parseEmulateArgs, serveEmulateCount, startLocalFleet } from './emulator/cli.js';
import { startFleet, type FleetHandle } from './emulator/index.js';

function version(): string {
  return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Who may use the API (src/http/api-auth.ts): a warning when it is open to the network without credentials. */
function logApiAccess(logger: Logger, config: Config): void {
  const notice = apiAccessNotice(config.api.auth);
  if (notice !== null) logger[notice.level]({ apiAuth: config.api.auth.mode, allowRemote: config.api.auth.allowRemote }, notice.message);
}

async function serve(configFile: string | null, config: Config, args: readonly string[] = []): Promise<void> {
  const logger = createLogger(config.log.level, { thread: 'control' });
  // Handlers go in before the server starts: a signal that arrives while shards start must not kill the
  // process the default way; it stops the server as soon as it is up.
  let server: RouterServer | null = null;
  let fleet: FleetHandle | null = null;
  let pendingStop: { mode: 'graceful' | 'fast'; signal: string } | null = null;
  let stopping = false;
  const stop = (mode: 'graceful' | 'fast', signal: string): void => {
    if (stopping) {
      if (signal === 'SIGINT') {
        logger.warn('second SIGINT: exiting now');
        logger.flush();
        process.exit(130);
      }
      return;
    }
    const running = server;
    if (running === null) {
      pendingStop ??= { mode, signal };
      return;
    }
    stopping = true;
    logger.info({ signal }, `${signal}: ${mode} stop`);
    // Emulated stations (serve --emulate) stop before the server.
    (fleet === null ? Promise.resolve() : fleet.stop().then(() => undefined)).then(() => running.stop(mode)).then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (error) => {
        logger.error({ err: error }, 'stop failed');
        logger.flush();
        process.exit(1);
      },
    );
  };
  onSignal('SIGTERM', () => stop('graceful', 'SIGTERM'));
  onSignal('SIGQUIT', () => stop('graceful', 'SIGQUIT'));
  onSignal('SIGINT', () => stop('fast', 'SIGINT'));
  onSignal('SIGHUP', () => {
    if (server === null) return;
    try {
      const next = loadConfig({ file: configFile });
      const { needRestart, relisten, done } = server.reload(next);
      logger.info({ needRestart, relisten }, needRestart.length === 0 ? 'SIGHUP: configuration reloaded' : `SIGHUP: configuration reloaded; ${needRestart.join(', ')} take effect after a restart`);
      logApiAccess(logger, next);
      if (relisten.length > 0) {
        done.then(
          () => logger.info({ relisten, port: server?.port }, 'SIGHUP: shards restarted with the new listener settings'),
          (error: unknown) => logger.error({ err: error }, 'SIGHUP: the shards could not be restarted'),
        );
      }
    } catch (error) {
      logger.error(`SIGHUP: configuration not reloaded, keeping the running one\n${formatConfigErrors(error)}`);
    }
  });
  // REST API (api.yaml) on the control plane; shards forward to it. Installed before the first shard listens.
  const started = await RouterServer.start({ config, logger, testHooks: process.env.OCPP_ROUTER_TEST_HOOKS === '1', http: createApi });
  server = started;
  logApiAccess(logger, config);
  if (inControlThread()) logger.info({ controlThread: 'worker', maxYoungGenerationSizeMb: CONTROL_YOUNG_GENERATION_MB }, 'control plane in a worker thread: the process was started without --max-semi-space-size');
  // Set by a signal during start (TypeScript cannot see the closure assign it).
  const pending = pendingStop as { mode: 'graceful' | 'fast'; signal: string } | null;
  if (pending !== null) {
    stop(pending.mode, pending.signal);
    return;
  }
  // serve --emulate N: emulated stations beside the server, stopped before it.
  const emulate = serveEmulateCount(args);
  if (emulate !== null && 'error' in emulate) logger.error(emulate.error);
  else if (emulate !== null && started.port === 0) logger.error('serve --emulate needs the plain listener (server.plain); use `ocpp-router emulate --url wss://… --ca …` against the TLS port');
  else if (emulate !== null) {
    fleet = await startLocalFleet({ ...emulate, host: config.server.listen, port: started.port, path: config.ocpp.path, log: (line) => logger.info(line) });
    logger.info({ stations: emulate.count, version: emulate.version }, `emulator: ${emulate.count} stations started`);
  }
}

async function main(): Promise<number | null> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.errors.length > 0) {
    process.stderr.write(`${cli.errors.join('\n')}\n\n${USAGE}\n`);
    return 2;
  }
  switch (cli.command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
      process.stdout.write(`ocpp-router ${version()}\n`);
      return 0;
    case 'hash-password': {
      const plain = cli.args[0] ?? (await readStdin());
      if (plain.length === 0) {
        process.stderr.write('hash-password: the password is empty\n');
        return 2;
      }
      process.stdout.write(`${await hashPassword(plain)}\n`);
      return 0;
    }
    case 'emulate':
      return emulateCommand(cli.args);
    default:
      break;
  }
  let config: Config;
  try {
    config = loadConfig({ file: cli.configFile });
  } catch (error) {
    process.stderr.write(`${formatConfigErrors(error)}\n`);
    return 1;
  }
  if (cli.command === 'flex') {
    const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s), env: process.env, readLine: async () => (await readStdin()).split(/\r?\n/)[0] ?? '' };
    return (await import('./flex/cli.js')).flexCommand(cli.args, config, io);
  }
  if (cli.command === 'check-config') {
    process.stdout.write(`configuration OK: ${cli.configFile ?? 'conf/default.json'} (port ${config.server.port}, ${config.ocpp.subprotocols.join(', ')})\n`);
    return 0;
  }
  await serve(cli.configFile, config, cli.args);
  return null;
}

/** `ocpp-router emulate …`: runs a fleet until SIGINT/SIGTERM or --duration-s, then prints the final summary. */
async function emulateCommand(args: readonly string[]): Promise<number | null> {
  let parsed: ReturnType<typeof parseEmulateArgs>;
  try {
    parsed = parseEmulateArgs(args, packageRoot());
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${EMULATE_USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${EMULATE_USAGE}\n`);
    return 0;
  }
  if (parsed.fleet.stations.length === 0) {
    process.stderr.write('emulate: no stations (conf/cp is empty and --stations was not given)\n');
    return 2;
  }
  const fleet = await startFleet(parsed.fleet);
  process.stderr.write(`emulator: ${parsed.fleet.stations.length} stations on ${fleet.threads === 0 ? 'the main thread' : `${fleet.threads} worker threads`}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    fleet.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (parsed.durationS > 0) setTimeout(stop, parsed.durationS * 1000);
  return null;
}

main().then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`ocpp-router: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
