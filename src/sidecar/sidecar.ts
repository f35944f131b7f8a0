// `agent serve --envoy`: the agent runs its own Envoy, the sidecar without Kubernetes (as Envoy
// Gateway's standalone mode does). A private directory (0700) holds the bootstrap, written by the
// same code as `agent bootstrap`, and Envoy's admin socket; the stats listener the agent serves
// forwards to that socket. Envoy's readiness joins the agent's /readyz; on shutdown Envoy is drained
// and stopped before the agent stops serving it.
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { writeFilesAtomically } from "../certs/files.ts";
import { CliError, choiceFlag, durationFlag } from "../cli/errors.ts";
import { XDS_CLUSTER, type XdsMode } from "../envoy/bootstrap.ts";
import { bootstrapFiles, defaultNode } from "../envoy/bootstrap-files.ts";
import type { Observability } from "../observe/observe.ts";
import { envoyLogLevels, superviseEnvoy, type EnvoyLogLevel, type SupervisedEnvoy } from "./envoy-process.ts";

export const sidecarArgs = {
  envoy: { type: "boolean", default: false, description: "run an Envoy beside the agent (bootstrap, admin socket and logs handled by the agent; restarted if it dies, drained on SIGTERM)" },
  "envoy-bin": { type: "string", description: "with --envoy: the Envoy binary (default: $ENVOY_BIN, else envoy on PATH; scripts/envoy.sh installs it)" },
  "envoy-log-level": { type: "string", default: "warning", description: `with --envoy: Envoy's log level (${envoyLogLevels.join(", ")})` },
  "envoy-drain-timeout": { type: "string", default: "10s", description: "with --envoy, on SIGTERM: how long Envoy's open connections get to drain before it is stopped" },
} as const;

export interface SidecarConfig {
  binary: string;
  logLevel: EnvoyLogLevel;
  drainTimeoutMs: number;
  /** The private directory and the admin socket in it. */
  dir: string;
  adminSocket: string;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** --envoy-bin, else $ENVOY_BIN, else `envoy` on PATH; a CliError (exit 2) when none is executable. */
export function resolveEnvoyBinary(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const given = flag || env.ENVOY_BIN;
  if (given) {
    if (!executable(given)) throw new CliError(`--envoy: ${given} (${flag ? "--envoy-bin" : "$ENVOY_BIN"}) is not an executable file`);
    return given;
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, "envoy"))) return join(dir, "envoy");
  }
  throw new CliError("--envoy: no Envoy found: give --envoy-bin PATH, set ENVOY_BIN, or put envoy on PATH (bash scripts/envoy.sh installs Envoy 1.40.0)");
}

/**
 * Checks the --envoy flags (undefined without --envoy) and creates the private directory. Runs before
 * the agent starts: a bad flag or a missing Envoy stops it before anything listens.
 */
export function sidecarFlags(args: Record<string, unknown>, serve: { tls: boolean; xdsCluster: string }): SidecarConfig | undefined {
  if (!args.envoy) {
    if (args["envoy-bin"] !== undefined) throw new CliError("--envoy-bin needs --envoy");
    return undefined;
  }
  if (serve.tls) throw new CliError("--envoy: the agent's own Envoy connects over loopback without TLS; not with --ca-file, --cert-file and --key-file");
  if (serve.xdsCluster !== XDS_CLUSTER) throw new CliError(`--envoy: the bootstrap it writes names its xDS cluster ${XDS_CLUSTER}; not with --envoy-xds-cluster ${serve.xdsCluster}`);
  const logLevel = choiceFlag("envoy-log-level", args["envoy-log-level"], envoyLogLevels);
  const drainTimeoutMs = durationFlag("envoy-drain-timeout", args["envoy-drain-timeout"]);
  const binary = resolveEnvoyBinary(args["envoy-bin"] as string | undefined);
  const dir = mkdtempSync(join(tmpdir(), "isobar-envoy-"));
  chmodSync(dir, 0o700);
  return { binary, logLevel, drainTimeoutMs, dir, adminSocket: join(dir, "admin.sock") };
}

/** Where the local Envoy reaches an agent bound to `address`: loopback for a wildcard bind. */
export function localXdsAddress(address: string): string {
  if (address === "0.0.0.0" || address === "" || /^localhost\.?$/i.test(address)) return "127.0.0.1";
  if (address === "::" || address === "[::]") return "::1";
  return address.replace(/^\[(.*)\]$/, "$1");
}

export interface RunningSidecar {
  envoy: SupervisedEnvoy;
  /** Drains and stops Envoy, then removes the private directory. */
  stop(): Promise<void>;
}

/** Writes the bootstrap for the agent's xDS port, starts Envoy, and makes /readyz wait for it. */
export function startSidecar(config: SidecarConfig, options: { xdsAddress: string; xdsPort: number; mode: XdsMode; observe: Observability; runtime?: Record<string, number> }): RunningSidecar {
  const bootstrapPath = join(config.dir, "bootstrap.json");
  const files = bootstrapFiles({ xdsAddress: localXdsAddress(options.xdsAddress), xdsPort: options.xdsPort, mode: options.mode, adminSocketPath: config.adminSocket, runtime: options.runtime, ...defaultNode() }, bootstrapPath);
  writeFilesAtomically(files, { overwrite: true, dirMode: 0o700 });
  const envoy = superviseEnvoy({ binary: config.binary, bootstrapPath, adminSocket: config.adminSocket, cwd: config.dir, logLevel: config.logLevel });
  options.observe.addReadinessCheck(() => envoy.readiness());
  return {
    envoy,
    async stop() {
      try {
        await envoy.stop({ drainTimeoutMs: config.drainTimeoutMs });
      } finally {
        rmSync(config.dir, { recursive: true, force: true });
      }
    },
  };
}

/** How long stop() may take at most: the drain, then SIGTERM and the SIGKILL after 5 s. */
export function sidecarStopBoundMs(config: SidecarConfig): number {
  return config.drainTimeoutMs + 6_000;
}
