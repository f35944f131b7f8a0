// `agent envoy …`: commands run beside Envoy in its pod. `agent envoy shutdown` is Envoy's preStop
// hook: fail its health check over the admin socket, wait for connections to drain, exit 0.
import { defineCommand } from "citty";
import { drainEnvoy } from "../observe/envoy-drain.ts";
import { configureLogs, type LogFormat } from "../observe/log.ts";
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
    "log-format": { type: "string", default: "auto", description: "text, json, or auto (text on a terminal, JSON lines otherwise)" },
  },
  run: ({ args }) =>
    runCommand(async () => {
      configureLogs({ level: "info", format: choiceFlag("log-format", args["log-format"], logFormats), repeatWindowMs: 0 });
      await drainEnvoy(socketPathFlag("admin-address", args["admin-address"]), {
        minOpenConnections: intFlag("min-open-connections", args["min-open-connections"], 0),
        drainTimeoutMs: durationFlag("drain-timeout", args["drain-timeout"]),
        checkIntervalMs: durationFlag("check-interval", args["check-interval"]),
      });
    }),
});

export default defineCommand({
  meta: { name: "envoy", description: "commands run beside Envoy in its pod" },
  subCommands: { shutdown },
});
