// Contour's flags that isobar accepts without implementing what they set, so Contour's deployment
// arguments run unchanged. Each flag is either harmless to ignore (an info line says it was ignored
// and why) or, with a value that would change behaviour, refused: one line naming what is missing,
// exit 2. The flags isobar does implement are aliases on its own flags (`alias` in each command).
import type { ArgsDef } from "citty";
import type { ConsolaInstance } from "consola";
import { CliError, listFlag } from "./errors.ts";

/** What one given Contour-only flag means to isobar. */
export type Verdict = { ignored: string } | { missing: string };

export interface ContourOnlyFlag {
  type: "string" | "boolean";
  valueHint?: string;
  alias?: string;
  /** What it does in Contour and what isobar does with it, for --help. */
  description: string;
  /** Judges the given value; `args` holds every flag of the command line. */
  check(value: string | boolean, args: Record<string, unknown>): Verdict;
}

export type ContourOnlyTable = Record<string, ContourOnlyFlag>;

/** Never given a default: absent means not given, so only what the user wrote is judged. */
export function contourOnlyArgs(table: ContourOnlyTable): ArgsDef {
  const args: ArgsDef = {};
  for (const [name, flag] of Object.entries(table)) {
    args[name] = { type: flag.type, description: `[Contour] ${flag.description}`, ...(flag.valueHint ? { valueHint: flag.valueHint } : {}), ...(flag.alias ? { alias: flag.alias } : {}) } as ArgsDef[string];
  }
  return args;
}

/** Judges every Contour-only flag given: logs the ignored ones, throws (exit 2) on the first refused. */
export function checkContourOnly(table: ContourOnlyTable, args: Record<string, unknown>, log: ConsolaInstance): void {
  const ignored: string[] = [];
  for (const [name, flag] of Object.entries(table)) {
    const value = args[name];
    if (value === undefined || (flag.type === "boolean" && value === false)) continue;
    const verdict = flag.check(value as string | boolean, args);
    if ("missing" in verdict) throw new CliError(`--${name}: ${verdict.missing}`);
    ignored.push(`--${name} is ignored: ${verdict.ignored}`);
  }
  for (const line of ignored) log.info(line);
}

const harmless = (why: string) => (): Verdict => ({ ignored: why });

/** `--flag` given only as `wanted` is harmless (isobar does exactly that); anything else is missing. */
function onlyValue(wanted: string, ignored: string, missing: (value: string) => string) {
  return (value: string | boolean): Verdict => (String(value) === wanted ? { ignored } : { missing: missing(String(value)) });
}

const contourFeatures = ["extensionservices", "tlsroutes", "grpcroutes", "tcproutes", "backendtlspolicies"];

/** `agent serve`: Contour's `serve` flags isobar does not implement. */
export const serveContourOnly: ContourOnlyTable = {
  "disable-feature": {
    type: "string",
    valueHint: "FEATURES",
    description: `ignored: isobar watches none of ${contourFeatures.join(", ")}`,
    check: (value) => {
      const unknown = listFlag(value).filter((f) => !contourFeatures.includes(f));
      if (unknown.length > 0) return { missing: `${JSON.stringify(unknown[0])} is not one of ${contourFeatures.join(", ")}` };
      return { ignored: "isobar watches none of these resources" };
    },
  },
  "envoy-http-access-log": {
    type: "string",
    valueHint: "PATH",
    description: "only /dev/stdout (where Envoy's access log goes) is accepted",
    check: onlyValue("/dev/stdout", "Envoy's HTTP access log goes to /dev/stdout already", (v) => `an access log file (${v}) is not implemented: Envoy's access log goes to /dev/stdout`),
  },
  "envoy-https-access-log": {
    type: "string",
    valueHint: "PATH",
    description: "only /dev/stdout (where Envoy's access log goes) is accepted",
    check: onlyValue("/dev/stdout", "Envoy's HTTPS access log goes to /dev/stdout already", (v) => `an access log file (${v}) is not implemented: Envoy's access log goes to /dev/stdout`),
  },
  "health-address": {
    type: "string",
    valueHint: "ADDRESS",
    description: "accepted when it is the metrics address: /healthz is served beside /metrics",
    check: (value, args) =>
      String(value) === String(args["metrics-address"])
        ? { ignored: "/healthz is served on the metrics address" }
        : { missing: `a health listener apart from the metrics one is not implemented: /healthz is served on --http-address ${String(args["metrics-address"])}` },
  },
  "health-port": {
    type: "string",
    valueHint: "PORT",
    description: "accepted when it is the metrics port: /healthz is served beside /metrics",
    check: (value, args) =>
      String(value) === String(args["metrics-port"])
        ? { ignored: "/healthz is served on the metrics port" }
        : { missing: `a health listener apart from the metrics one is not implemented: /healthz is served on --http-port ${String(args["metrics-port"])}` },
  },
  "kubernetes-client-burst": { type: "string", valueHint: "N", description: "ignored: isobar's Kubernetes client has no client-side rate limit", check: harmless("isobar's Kubernetes client has no client-side rate limit") },
  "kubernetes-client-qps": { type: "string", valueHint: "QPS", description: "ignored: isobar's Kubernetes client has no client-side rate limit", check: harmless("isobar's Kubernetes client has no client-side rate limit") },
  "kubernetes-debug": { type: "string", valueHint: "LEVEL", description: "ignored: isobar's Kubernetes client logs at --log-level", check: harmless("isobar's Kubernetes client logs at --log-level") },
};

/** `agent bootstrap`: Contour's `bootstrap` flags isobar does not implement. */
export const bootstrapContourOnly: ContourOnlyTable = {
  "admin-port": { type: "string", valueHint: "PORT", description: "ignored (deprecated in Contour): Envoy's admin listens on --admin-address only", check: harmless("Envoy's admin listens on the unix socket of --admin-address only (deprecated in Contour too)") },
  namespace: { type: "string", valueHint: "NAMESPACE", description: "ignored: Contour puts it only in two clusters' stat names", check: harmless("Contour uses it only in the stat names of two bootstrap clusters") },
  "overload-downstream-max-conn": {
    type: "string",
    valueHint: "N",
    description: "refused: a global downstream connection limit is not implemented",
    check: () => ({ missing: "a global downstream connection limit (Envoy's overload manager) is not implemented" }),
  },
  "xds-resource-version": {
    type: "string",
    valueHint: "v3",
    description: "only v3 (the only version isobar serves) is accepted",
    check: onlyValue("v3", "isobar serves xDS v3, the version asked for", (v) => `xDS resource version ${JSON.stringify(v)} is not served: only v3`),
  },
};

/** `agent envoy shutdown`: Contour's `envoy shutdown` flags isobar does not implement. */
export const shutdownContourOnly: ContourOnlyTable = {
  "admin-port": { type: "string", valueHint: "PORT", description: "ignored (deprecated in Contour): Envoy's admin is reached on --admin-address only", check: harmless("Envoy's admin is reached on the unix socket of --admin-address only (deprecated in Contour too)") },
};
