// `agent serve`: runs the xDS server (see src/serve.ts) until SIGINT or SIGTERM, then closes it
// gracefully. Parses flags and calls; nothing else.
import { defineCommand } from "citty";
import { consola, LogLevels } from "consola";
import { runServe, untilSignal } from "../serve.ts";
import { choiceFlag, intFlag, runCommand } from "./errors.ts";

const logLevels = ["silent", "error", "warn", "info", "debug", "trace"] as const;

export default defineCommand({
  meta: { name: "serve", description: "serve Envoy configuration over xDS (ADS sotw and delta, per-type services)" },
  args: {
    address: { type: "string", default: "127.0.0.1", description: "address the xDS server binds" },
    port: { type: "string", default: "8001", description: "xDS port (0: any free port)" },
    "log-level": { type: "string", default: "info", description: `one of ${logLevels.join(", ")}` },
  },
  run: ({ args }) =>
    runCommand(async () => {
      consola.level = LogLevels[choiceFlag("log-level", args["log-level"], logLevels)];
      const agent = await runServe({ address: args.address, port: intFlag("port", args.port, 0, 65535) });
      await untilSignal();
      await agent.close();
    }),
});
