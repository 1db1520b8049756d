/** Command-line parsing: subcommands and flags, nothing else. */
export type Command = 'serve' | 'check-config' | 'hash-password' | 'emulate' | 'flex' | 'help' | 'version';

export interface CliOptions {
  command: Command;
  configFile: string | null;
  /** serve: emit test-only control hooks (never documented for production). */
  args: string[];
  errors: string[];
}

const COMMANDS: readonly Command[] = ['serve', 'check-config', 'hash-password', 'emulate', 'flex', 'help', 'version'];

export const USAGE = `Usage: ocpp-router [command] [options]

Commands:
  serve                 run the central system (default)
  check-config          validate the configuration, list every problem, exit non-zero if any
  hash-password [PW]    print a password hash for security.basicAuth (reads stdin without PW)
  emulate [options]     run emulated charge points (ocpp-router emulate --help; docs/emulator.md)
  flex <command>        flexibility assets: create-asset, list, export-keys --out FILE, import-keys FILE
                        (ocpp-router flex help; docs/flexibility.md)
  help                  show this text
  version               print the version

Options:
  -c, --config FILE     configuration file (JSON or YAML); default conf/default.json
  -h, --help            show this text
  -v, --version         print the version
  --emulate N           serve: also start N emulated stations (EMU-…) once listening
  --emulate-version V   serve: their OCPP version (default ocpp1.6)

Environment variables override the file (PORT, LISTEN, WORKERS, …): see docs/configuration.md.`;

export function parseCli(argv: readonly string[]): CliOptions {
  const options: CliOptions = { command: 'serve', configFile: null, args: [], errors: [] };
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((options.command === 'emulate' || options.command === 'flex') && commandSeen && arg !== '-c' && arg !== '--config' && !arg.startsWith('--config=')) {
      // emulate, flex: every other argument is their own (src/emulator/cli.ts, src/flex/cli.ts), --help included.
      options.args.push(arg);
    } else if (arg === '-c' || arg === '--config') {
      const value = argv[++i];
      if (value === undefined) options.errors.push(`${arg} needs a file name`);
      else options.configFile = value;
    } else if (arg.startsWith('--config=')) {
      options.configFile = arg.slice('--config='.length);
    } else if (arg === '-h' || arg === '--help') {
      options.command = 'help';
      commandSeen = true;
    } else if (arg === '-v' || arg === '--version') {
      options.command = 'version';
      commandSeen = true;
    } else if (arg === '--emulate' || arg === '--emulate-version') {
      // serve --emulate N [--emulate-version V] (src/emulator/cli.ts).
      options.args.push(arg, argv[++i] ?? '');
    } else if (arg.startsWith('--emulate=') || arg.startsWith('--emulate-version=')) {
      options.args.push(arg);
    } else if (arg.startsWith('-')) {
      options.errors.push(`unknown option ${arg}`);
    } else if (!commandSeen) {
      if ((COMMANDS as readonly string[]).includes(arg)) options.command = arg as Command;
      else options.errors.push(`unknown command ${arg}`);
      commandSeen = true;
    } else {
      options.args.push(arg);
    }
  }
  return options;
}
