// `agent serve --envoy`: the agent runs its own Envoy, the sidecar without Kubernetes (as Envoy
// Gateway's standalone mode does). A private directory (0700) holds the bootstrap, written by the
// same code as `agent bootstrap`, and Envoy's admin socket; the stats listener the agent serves
// forwards to that socket. Envoy's readiness joins the agent's /readyz; on shutdown Envoy is drained
// and stopped before the agent stops serving it.
import { accessSync, constants, rmSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { writeFilesAtomically } from "../certs/files.ts";
import { UserError } from "../base/errors.ts";
import type { XdsMode } from "../envoy/bootstrap.ts";
import { bootstrapFiles, defaultNode } from "../envoy/bootstrap-files.ts";
import type { Observability } from "../observe/observe.ts";
import { superviseEnvoy, type EnvoyLogLevel, type SupervisedEnvoy } from "./envoy-process.ts";

/** No usable Envoy binary for --envoy (exit 2 at the CLI). */
export class SidecarError extends UserError {
  override name = "SidecarError";
}

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

/** --envoy-bin, else $ENVOY_BIN, else `envoy` on PATH; a SidecarError (exit 2) when none is executable. */
export function resolveEnvoyBinary(flag: string | undefined, env: Record<string, string | undefined> = process.env): string {
  const given = flag || env.ENVOY_BIN;
  if (given) {
    if (!executable(given)) throw new SidecarError(`--envoy: ${given} (${flag ? "--envoy-bin" : "$ENVOY_BIN"}) is not an executable file`);
    return given;
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, "envoy"))) return join(dir, "envoy");
  }
  throw new SidecarError("--envoy: no Envoy found: give --envoy-bin PATH, set ENVOY_BIN, or put envoy on PATH (bash scripts/envoy.sh installs Envoy 1.40.0)");
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
