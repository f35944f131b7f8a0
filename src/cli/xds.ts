// `agent xds`: an xDS client for people, like `contour cli`. Connects to an xDS server, subscribes to one
// resource type, ACKs what it receives and prints each response as JSON; `--watch` keeps printing updates.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { defineCommand } from "citty";
import { logArgs, logFlags } from "./observe-flags.ts";
import { choiceFlag, CliError, durationFlag, runCommand } from "./errors.ts";
import { privateKeyProblem } from "../certs/x509.ts";
import { connectXds, resolveTypeUrl, responseToJson, tlsChannel, xdsTypes, type XdsClient, type XdsResponse } from "../xds/client.ts";

export interface XdsCommandFlags {
  server: string;
  nodeId: string;
  nodeCluster: string;
  type: string;
  names: string[];
  delta: boolean;
  ads: boolean;
  watch: boolean;
  output: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  timeout: string;
}

/** TLS from the three files, or insecure when none is given; some but not all is an error. */
export function channelCredentials(
  flags: Pick<XdsCommandFlags, "caFile" | "certFile" | "keyFile" | "serverName"> & { server?: string },
): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  const files = [flags.caFile, flags.certFile, flags.keyFile];
  const given = files.filter((f) => f !== undefined && f !== "").length;
  if (given === 0) return { credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  if (given !== 3) throw new CliError("--ca-file, --cert-file and --key-file go together: give all three or none", 2);
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new CliError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 2);
    }
  };
  const material = { ca: read("--ca-file", flags.caFile!), certificate: read("--cert-file", flags.certFile!), privateKey: read("--key-file", flags.keyFile!) };
  const keyProblem = privateKeyProblem(material.privateKey.toString("utf8"));
  if (keyProblem) throw new CliError(`--key-file ${flags.keyFile} ${keyProblem}`, 2);
  return tlsChannel(flags.server ?? "", material, { serverName: flags.serverName });
}

/**
 * Runs the command: prints responses to `print` until done (the first response, or with `watch` until
 * the stream ends or `signal` aborts). Throws CliError on failure.
 */
export async function runXdsCommand(flags: XdsCommandFlags, print: (line: string) => void, options: { signal?: AbortSignal } = {}): Promise<void> {
  const typeUrl = resolveTypeUrl(flags.type);
  if (!typeUrl) throw new CliError(`unknown --type ${JSON.stringify(flags.type)}: want one of ${Object.keys(xdsTypes).join(", ")} or a type URL`, 2);
  choiceFlag("output", flags.output, ["json", "pretty"]);
  // A server sends RDS, EDS and SDS resources by name only: without names it would send nothing.
  if (flags.names.length === 0 && typeUrl !== xdsTypes.lds && typeUrl !== xdsTypes.cds) {
    throw new CliError(`--type ${flags.type} resources are sent by name: give their names, or '*' for all of them`, 2);
  }
  const timeoutMs = durationFlag("timeout", flags.timeout);
  const { credentials, channelOptions } = channelCredentials(flags);

  const format = (response: XdsResponse) => JSON.stringify(responseToJson(response), null, flags.output === "pretty" ? 2 : undefined);
  const client: XdsClient = connectXds(flags.server, {
    node: { id: flags.nodeId, cluster: flags.nodeCluster },
    subscriptions: [{ typeUrl, names: flags.names }],
    delta: flags.delta,
    ads: flags.ads,
    credentials,
    channelOptions,
  });
  try {
    await client.waitForReady(timeoutMs);
    if (!flags.watch) {
      print(format(await withTimeout(client.next(), timeoutMs, `no response from ${flags.server} within ${timeoutMs / 1000}s`)));
      return;
    }
    options.signal?.addEventListener("abort", () => client.close(), { once: true });
    while (!options.signal?.aborted) print(format(await client.next()));
  } catch (error) {
    if (options.signal?.aborted) return;
    throw error instanceof CliError ? error : new CliError((error as Error).message, 1);
  } finally {
    client.close();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CliError(message, 1)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export default defineCommand({
  meta: { name: "xds", description: "fetch or watch resources from an xDS server and print them as JSON" },
  args: {
    names: { type: "positional", required: false, description: "resource names (none: wildcard, for LDS and CDS; '*': every resource of the type)" },
    server: { type: "string", default: "127.0.0.1:8001", valueHint: "HOST:PORT", description: "xDS server address" },
    "node-id": { type: "string", default: "agent-xds", description: "node id sent to the server" },
    "node-cluster": { type: "string", default: "", description: "node cluster sent to the server" },
    type: { type: "string", default: "lds", description: "resource type: lds, rds, cds, eds, sds or a type URL" },
    delta: { type: "boolean", default: false, description: "use delta xDS instead of state-of-the-world" },
    ads: { type: "boolean", default: true, description: "use the aggregated service (--no-ads: the per-type service)" },
    watch: { type: "boolean", default: false, description: "keep printing updates instead of exiting after the first response" },
    output: { type: "string", default: "json", valueHint: "FORMAT", description: "json (one response per line) or pretty" },
    "ca-file": { type: "string", description: "CA certificate (PEM) to verify the server" },
    "cert-file": { type: "string", description: "client certificate (PEM)" },
    "key-file": { type: "string", description: "client private key (PEM)" },
    "server-name": { type: "string", description: "TLS server name to verify instead of the address's host" },
    timeout: { type: "string", default: "5s", valueHint: "DURATION", description: "how long to wait to connect, and for the first response" },
    ...logArgs,
  },
  async run({ args }) {
    const flags: XdsCommandFlags = {
      server: args.server,
      nodeId: args["node-id"],
      nodeCluster: args["node-cluster"],
      type: args.type,
      names: args._.map(String),
      delta: args.delta,
      ads: args.ads,
      watch: args.watch,
      output: args.output,
      caFile: args["ca-file"],
      certFile: args["cert-file"],
      keyFile: args["key-file"],
      serverName: args["server-name"],
      timeout: args.timeout,
    };
    await runCommand(() => {
      logFlags(args, { toStderr: true });
      return runXdsCommand(flags, (line) => process.stdout.write(`${line}\n`));
    });
  },
});
