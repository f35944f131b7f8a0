// The flags of `agent serve --envoy` (src/sidecar/sidecar.ts runs that Envoy): checked before the
// agent starts, so a bad flag or a missing Envoy stops it before anything listens.
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XDS_CLUSTER } from "../envoy/bootstrap.ts";
import { envoyLogLevels } from "../sidecar/envoy-process.ts";
import { resolveEnvoyBinary, type SidecarConfig } from "../sidecar/sidecar.ts";
import { CliError, choiceFlag, durationFlag } from "./errors.ts";

export const sidecarArgs = {
  envoy: { type: "boolean", default: false, description: "run an Envoy beside the agent (bootstrap, admin socket and logs handled by the agent; restarted if it dies, drained on SIGTERM)" },
  "envoy-bin": { type: "string", description: "with --envoy: the Envoy binary (default: $ENVOY_BIN, else envoy on PATH; scripts/envoy.sh installs it)" },
  "envoy-log-level": { type: "string", default: "warning", description: `with --envoy: Envoy's log level (${envoyLogLevels.join(", ")})` },
  "envoy-drain-timeout": { type: "string", default: "10s", description: "with --envoy, on SIGTERM: how long Envoy's open connections get to drain before it is stopped" },
} as const;

/** Checks the --envoy flags (undefined without --envoy) and creates the private directory. */
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
