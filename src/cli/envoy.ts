// `agent envoy …`: commands run beside Envoy in its pod. `agent envoy shutdown` is Envoy's preStop
// hook: fail its health check over the admin socket, wait for connections to drain, create the
// ready file, exit 0. `agent envoy shutdown-manager` is Contour's container that Envoy's own preStop
// hook waits on (`GET /shutdown` answers once the ready file exists).
import { dirname, join } from "node:path";
import { defineCommand } from "citty";
import { consola } from "consola";
import { drainEnvoy } from "../observe/envoy-drain.ts";
import { configureLogs, type LogFormat } from "../observe/log.ts";
import { startShutdownManager } from "../observe/shutdown-manager.ts";
import { checkContourOnly, contourOnlyArgs, shutdownContourOnly } from "./contour-flags.ts";
import { choiceFlag, durationFlag, intFlag, runCommand, socketPathFlag } from "./errors.ts";

const logFormats: readonly LogFormat[] = ["auto", "text", "json"];

const shutdown = defineCommand({
  meta: {
    name: "shutdown",
    description: "preStop hook: fail Envoy's health check, then wait until its open connections drain (or the timeout); always exits 0",
  },
  args: {
    "admin-address": { type: "string", default: "/admin/admin.sock", valueHint: "PATH", description: "Envoy's admin unix socket, an absolute path" },
    "min-open-connections": { type: "string", default: "0", valueHint: "N", description: "stop waiting once this many connections or fewer are open" },
    "drain-timeout": { type: "string", default: "60s", valueHint: "DURATION", description: "stop waiting after this long" },
    "check-interval": { type: "string", default: "5s", valueHint: "DURATION", description: "time between two looks at Envoy's stats" },
    "drain-delay": { type: "string", default: "0s", valueHint: "DURATION", description: "wait this long before failing the health check" },
    "check-delay": { type: "string", default: "0s", valueHint: "DURATION", description: "wait this long after failing the health check before the first look at the stats" },
    "ready-file": { type: "string", valueHint: "PATH", description: "created when done, for `agent envoy shutdown-manager` (default: ok beside the admin socket, /admin/ok)" },
    "log-format": { type: "string", default: "auto", description: "text, json, or auto (text on a terminal, JSON lines otherwise)" },
    ...contourOnlyArgs(shutdownContourOnly),
  },
  run: ({ args }) =>
    runCommand(async () => {
      configureLogs({ level: "info", format: choiceFlag("log-format", args["log-format"], logFormats), repeatWindowMs: 0 });
      checkContourOnly(shutdownContourOnly, args, consola.withTag("envoy"));
      const adminSocket = socketPathFlag("admin-address", args["admin-address"]);
      await drainEnvoy(adminSocket, {
        minOpenConnections: intFlag("min-open-connections", args["min-open-connections"], 0),
        drainTimeoutMs: durationFlag("drain-timeout", args["drain-timeout"]),
        checkIntervalMs: durationFlag("check-interval", args["check-interval"]),
        drainDelayMs: durationFlag("drain-delay", args["drain-delay"]),
        checkDelayMs: durationFlag("check-delay", args["check-delay"]),
        readyFile: args["ready-file"] || join(dirname(adminSocket), "ok"),
      });
    }),
});

const shutdownManager = defineCommand({
  meta: {
    name: "shutdown-manager",
    description: "serve /healthz and /shutdown, which answers once `agent envoy shutdown` has drained Envoy (Envoy's preStop hook asks it), until SIGTERM",
  },
  args: {
    "serve-port": { type: "string", default: "8090", valueHint: "PORT", description: "port of /healthz and /shutdown, on every address (0: any free port)" },
    "ready-file": { type: "string", default: "/admin/ok", valueHint: "PATH", description: "the file `agent envoy shutdown` creates when it is done" },
    "log-format": { type: "string", default: "auto", description: "text, json, or auto (text on a terminal, JSON lines otherwise)" },
  },
  run: ({ args }) =>
    runCommand(async () => {
      configureLogs({ level: "info", format: choiceFlag("log-format", args["log-format"], logFormats) });
      const signal = new Promise<void>((resolve) => {
        for (const name of ["SIGTERM", "SIGINT"] as const) process.once(name, () => resolve());
      });
      const manager = await startShutdownManager({ port: intFlag("serve-port", args["serve-port"], 0, 65535), readyFile: args["ready-file"] });
      await signal;
      await manager.close();
    }),
});

export default defineCommand({
  meta: { name: "envoy", description: "commands run beside Envoy in its pod" },
  subCommands: { shutdown, "shutdown-manager": shutdownManager },
});
