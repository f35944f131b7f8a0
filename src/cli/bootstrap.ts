// `agent bootstrap [PATH]`: writes Envoy's bootstrap JSON (and, with Envoy's certificate files,
// the SDS resource files it points at). Parses flags and calls src/envoy/bootstrap-files.ts.
import { dirname, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { consola } from "consola";
import { writeFilesAtomically } from "../certs/files.ts";
import { loadConfigFile } from "../config/file.ts";
import { ConfigError } from "../config/types.ts";
import { type BootstrapOptions, type XdsMode, checkBootstrapOptions, dnsLookupFamilies, runtimeFromConfig } from "../envoy/bootstrap.ts";
import { HTTP_LISTENER, HTTPS_LISTENER } from "../dag/names.ts";
import { bootstrapFiles, defaultNode } from "../envoy/bootstrap-files.ts";
import { logArgs, logFlags } from "./observe-flags.ts";
import { bootstrapContourOnly, checkContourOnly, contourOnlyArgs } from "./contour-flags.ts";
import { addressFlag, CliError, choiceFlag, intFlag, runCommand } from "./errors.ts";

const log = consola.withTag("bootstrap");

/** The configuration file's settings, or a one-line error naming the file and the setting. */
function configFileOrExit(path: string) {
  try {
    return loadConfigFile(path).config;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`--config-path: ${error.message}`);
    throw error;
  }
}

export default defineCommand({
  meta: { name: "bootstrap", description: "write Envoy's bootstrap JSON to PATH (or stdout with -)" },
  args: {
    path: { type: "positional", required: false, description: "output file, or - for stdout (default: -)" },
    "xds-address": { type: "string", default: "127.0.0.1", description: "the agent's address: an IP, or a DNS name in split mode (never localhost)" },
    "xds-port": { type: "string", default: "8001", description: "the agent's xDS port" },
    "xds-mode": { type: "string", default: "delta", description: "delta (delta ADS), sotw (state-of-the-world ADS) or per-type (then serve with --envoy-xds-mode per-type)" },
    "admin-address": { type: "string", default: "/admin/admin.sock", valueHint: "PATH", description: "Envoy's admin unix socket, an absolute path (never an IP)" },
    "node-id": { type: "string", description: "Envoy's node id (default: $POD_NAME, else the hostname)" },
    "node-cluster": { type: "string", description: "Envoy's node cluster (default: $POD_NAMESPACE/envoy, else envoy)" },
    "envoy-ca-file": { type: "string", alias: "envoy-cafile", valueHint: "FILE", description: "CA bundle that signed the agent's certificate (with cert and key: mTLS) (env ENVOY_CAFILE)" },
    "envoy-cert-file": { type: "string", valueHint: "FILE", description: "Envoy's client certificate (env ENVOY_CERT_FILE)" },
    "envoy-key-file": { type: "string", valueHint: "FILE", description: "Envoy's client key (env ENVOY_KEY_FILE)" },
    "dns-lookup-family": { type: "string", valueHint: "FAMILY", description: "how Envoy resolves a DNS name in --xds-address: v4, v6, auto or all (default: IPv4 preferred)" },
    "xds-server-name": { type: "string", default: "isobar", description: "the SAN pinned on the agent's certificate, also sent as SNI" },
    "resources-dir": { type: "string", description: "where the SDS resource files go (default: resources/ beside PATH)" },
    overwrite: { type: "boolean", default: true, description: "replace existing files" },
    "overload-max-heap": { type: "string", default: "0", valueHint: "BYTES", description: "Envoy's overload manager: shrink the heap at 95% of this many bytes and stop accepting requests at 98% (0: no limit)" },
    "config-path": { type: "string", alias: "c", valueHint: "FILE", description: "Contour's configuration file, as serve reads it: its listener limits (max-connections-per-listener, max-requests-per-io-cycle) go into Envoy's static runtime" },
    ...logArgs,
    ...contourOnlyArgs(bootstrapContourOnly),
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      checkContourOnly(bootstrapContourOnly, args, log);
      const path = args.path ?? "-";
      // Contour's environment variables stand in for absent flags, as in Contour.
      const caFile = args["envoy-ca-file"] || process.env.ENVOY_CAFILE || undefined;
      const certFile = args["envoy-cert-file"] || process.env.ENVOY_CERT_FILE || undefined;
      const keyFile = args["envoy-key-file"] || process.env.ENVOY_KEY_FILE || undefined;
      const tlsFiles = [caFile, certFile, keyFile];
      const given = tlsFiles.filter((f) => f !== undefined && f !== "").length;
      if (given !== 0 && given !== 3) throw new CliError("--envoy-ca-file, --envoy-cert-file and --envoy-key-file go together: give all three or none");
      // Absolute: Envoy reads these paths from its own working directory, not from ours.
      const resourcesDir = resolve(args["resources-dir"] ?? (path === "-" ? "/config/resources" : join(dirname(path), "resources")));
      const options: BootstrapOptions = {
        xdsAddress: addressFlag("xds-address", args["xds-address"]),
        xdsPort: intFlag("xds-port", args["xds-port"], 1, 65535),
        mode: choiceFlag("xds-mode", args["xds-mode"], ["delta", "sotw", "per-type"] as const) as XdsMode,
        adminSocketPath: args["admin-address"],
        nodeId: args["node-id"] ?? defaultNode().nodeId,
        nodeCluster: args["node-cluster"] ?? defaultNode().nodeCluster,
        tls: given === 3 ? { caFile: resolve(caFile!), certFile: resolve(certFile!), keyFile: resolve(keyFile!), serverName: args["xds-server-name"], resourcesDir } : undefined,
        overloadMaxHeapBytes: intFlag("overload-max-heap", args["overload-max-heap"], 0, Number.MAX_SAFE_INTEGER),
        runtime: args["config-path"] ? runtimeFromConfig(configFileOrExit(args["config-path"]).listener, [HTTP_LISTENER, HTTPS_LISTENER]) : undefined,
        dnsLookupFamily: args["dns-lookup-family"] === undefined ? undefined : dnsLookupFamilies[choiceFlag("dns-lookup-family", args["dns-lookup-family"], Object.keys(dnsLookupFamilies) as Array<keyof typeof dnsLookupFamilies>)],
      };
      try {
        checkBootstrapOptions(options);
      } catch (error) {
        throw new CliError((error as Error).message);
      }
      const tls = options.tls ? `mTLS with ${options.tls.certFile} and ${options.tls.keyFile}, pinning ${options.tls.serverName}` : "plaintext";
      log.debug(`node ${options.nodeId} (cluster ${options.nodeCluster}), xDS ${options.mode} to ${options.xdsAddress}:${options.xdsPort}, ${tls}`);
      const [bootstrap, ...files] = bootstrapFiles(options, path);
      if (path === "-") {
        if (files.length > 0) {
          writeFilesAtomically(files, { overwrite: args.overwrite, dirMode: 0o755 });
          process.stderr.write(`wrote ${files.length} SDS files in ${resourcesDir} (--resources-dir)\n`);
        }
        process.stdout.write(bootstrap!.content);
      } else {
        writeFilesAtomically([bootstrap!, ...files], { overwrite: args.overwrite, dirMode: 0o755 });
        process.stderr.write(`wrote ${path}${files.length > 0 ? ` and ${files.length} SDS files in ${resourcesDir}` : ""}\n`);
      }
    }),
});
