// The agent's entry point: the citty root command. Subcommands live in src/cli/, one file each,
// loaded lazily so `agent --version` does not load the xDS server.
import { defineCommand, renderUsage, runMain } from "citty";
import { argvProblem } from "./cli/argv.ts";
import { installLogging } from "./observe/log.ts";
import { version } from "./version.ts";

// Before any subcommand module creates its tagged loggers (consola copies settings into each).
installLogging();

const main = defineCommand({
  meta: { name: "agent", version, description: "isobar: Kubernetes routing objects in, Envoy xDS out" },
  subCommands: {
    serve: () => import("./cli/serve.ts").then((m) => m.default),
    xds: () => import("./cli/xds.ts").then((m) => m.default),
    certs: () => import("./cli/certs.ts").then((m) => m.default),
    bootstrap: () => import("./cli/bootstrap.ts").then((m) => m.default),
    validate: () => import("./cli/validate.ts").then((m) => m.default),
    envoy: () => import("./cli/envoy.ts").then((m) => m.default),
  },
});

const argv = process.argv.slice(2);
if (!argv.includes("--help") && !argv.includes("-h")) {
  const problem = await argvProblem(main, argv);
  if (problem) {
    process.stderr.write(`agent: ${problem}\n`);
    process.exit(2);
  }
}
// citty colours its usage even when piped; plain text unless stdout is a terminal.
await runMain(main, {
  showUsage: async (command, parent) => {
    const usage = await renderUsage(command, parent);
    console.log(`${process.stdout.isTTY ? usage : usage.replace(/\u001b\[[0-9;]*m/g, "")}\n`);
  },
});
