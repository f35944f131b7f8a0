// The flags `agent serve` takes for the observe stage: metrics/health and debug addresses, log level
// and format (which every other command takes too), shutdown grace. Parsed here so the command only
// spreads them in and passes the result.
// Defaults follow Contour: metrics and health on 0.0.0.0:8000 (Prometheus and the kubelet scrape
// them from outside the pod), debug on 127.0.0.1:6060 only.
import { addressFlag, choiceFlag, durationFlag, intFlag } from "./errors.ts";
import { checkDebugAddress } from "../observe/http.ts";
import { configureLogs, logLevelNames, type LogFormat } from "../observe/log.ts";
import type { ObserveOptions } from "../observe/observe.ts";

const logFormats: readonly LogFormat[] = ["auto", "text", "json"];

/** --log-level and --log-format: every command takes them (serve through observeArgs). */
export const logArgs = {
  "log-level": { type: "string", default: "info", description: `one of ${logLevelNames.join(", ")}` },
  "log-format": { type: "string", default: "auto", description: "text, json, or auto (text on a terminal, JSON lines otherwise)" },
} as const;

/**
 * Checks and applies --log-level and --log-format. `toStderr`: every line goes to stderr, for the
 * commands whose stdout is their output (certs, bootstrap, validate, xds).
 */
export function logFlags(args: { "log-level": string; "log-format": string }, options: { toStderr?: boolean } = {}): void {
  const level = choiceFlag("log-level", args["log-level"], logLevelNames);
  const format = choiceFlag("log-format", args["log-format"], logFormats);
  configureLogs(options.toStderr ? { level, format, stdout: process.stderr } : { level, format });
}

export const observeArgs = {
  "metrics-address": { type: "string", alias: "http-address", default: "0.0.0.0", description: "address of /metrics, /healthz and /readyz" },
  "metrics-port": { type: "string", alias: "http-port", default: "8000", description: "port of /metrics, /healthz and /readyz (0: any free port)" },
  "debug-views": { type: "boolean", default: true, description: "serve /debug/dag, /debug/xds, /debug/nacks, /debug/status" },
  "debug-address": { type: "string", alias: "debug-http-address", default: "127.0.0.1", description: "address of the debug views: loopback only (kubectl port-forward)" },
  "debug-port": { type: "string", alias: "debug-http-port", default: "6060", description: "port of the debug views (0: any free port)" },
  ...logArgs,
  debug: { type: "boolean", alias: "d", default: false, description: "debug logs: the same as --log-level debug (Contour's --debug)" },
  "shutdown-grace": { type: "string", default: "10s", valueHint: "DURATION", description: "on SIGTERM, how long xDS streams get to finish before they are cut" },
} as const;

type ObserveArgs = { [K in keyof typeof observeArgs]: (typeof observeArgs)[K]["type"] extends "boolean" ? boolean : string };

/** Checks the flags, applies the log settings, and returns what startAgent and the shutdown take. */
export function observeFlags(args: ObserveArgs): { observe: ObserveOptions; shutdownGraceMs: number } {
  logFlags(args.debug ? { ...args, "log-level": "debug" } : args);
  const metricsAddress = addressFlag("metrics-address", args["metrics-address"]);
  const debugAddress = addressFlag("debug-address", args["debug-address"]);
  const debugViews = args["debug-views"];
  if (debugViews) checkDebugAddress(debugAddress);
  return {
    observe: {
      metricsAddress: { address: metricsAddress, port: intFlag("metrics-port", args["metrics-port"], 0, 65535) },
      ...(debugViews ? { debugAddress: { address: debugAddress, port: intFlag("debug-port", args["debug-port"], 0, 65535) } } : {}),
    },
    shutdownGraceMs: durationFlag("shutdown-grace", args["shutdown-grace"]),
  };
}
