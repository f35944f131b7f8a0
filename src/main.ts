// The agent's entry point: checks the command line, then runs the citty root command
// (src/cli/root.ts; subcommands live in src/cli/, one file each).
import { runMain } from "citty";
import { argvProblem, findCommand } from "./cli/argv.ts";
import { rootCommand as main } from "./cli/root.ts";
import { renderHelp } from "./cli/usage.ts";
import { installLogging } from "./observe/log.ts";
import { version } from "./base/version.ts";

// Before any subcommand module creates its tagged loggers (consola copies settings into each).
installLogging();

const argv = process.argv.slice(2);
const helpAt = argv.findIndex((token) => token === "--help" || token === "-h");
if (helpAt >= 0 && !argv.slice(0, helpAt).includes("--")) {
  // Our renderer, not citty's: the terminal's width, `agent` in every usage line (src/cli/usage.ts).
  const { command, path } = await findCommand(main, argv);
  process.stdout.write(await renderHelp(command, path));
  process.exit(0);
}
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  process.stdout.write(`${version}\n`);
  process.exit(0);
}
const problem = await argvProblem(main, argv);
if (problem) {
  process.stderr.write(`agent: ${problem}\n`);
  process.exit(2);
}
await runMain(main);
