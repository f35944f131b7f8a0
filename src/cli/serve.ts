// `agent serve`: the control plane. Watches a manifest directory (or Kubernetes), builds Envoy
// configuration on every change and serves it over xDS until SIGINT or SIGTERM. Parses flags and
// calls startAgent (src/agent/agent.ts); nothing else.
import { rmSync, statSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { defineCommand } from "citty";
import { consola } from "consola";
import type { DagOptions } from "../dag/processor.ts";
import type { TranslateOptions } from "../envoy/translate.ts";
import { connectKubernetes, type KubernetesConnection } from "../agent/kubernetes.ts";
import { KubeConfigError } from "../k8s/kubeconfig.ts";
import { checkBindAddress, loadServerTls, resolveTlsFiles } from "../certs/tls-server.ts";
import { observeArgs, observeFlags } from "./observe-flags.ts";
import { shutdownAndExit } from "../observe/lifecycle.ts";
import { keepServingOnStrayErrors, startAgent, untilSignal } from "../agent/agent.ts";
import { hostPort } from "../base/address.ts";
import { sidecarStopBoundMs, startSidecar } from "../sidecar/sidecar.ts";
import { sidecarArgs, sidecarFlags } from "./sidecar-flags.ts";
import { runtimeFromConfig } from "../envoy/bootstrap.ts";
import { HTTP_LISTENER, HTTPS_LISTENER } from "../dag/names.ts";
import { resolveValue } from "./argv.ts";
import { checkContourOnly, contourOnlyArgs, serveContourOnly } from "./contour-flags.ts";
import { gatewayArgs, gatewayFlags } from "./gateway-flags.ts";
import { serveConfiguration } from "./serve-config.ts";
import { globalDagOptions } from "../config/dag-options.ts";
import { addressFlag, choiceFlag, CliError, distinctPortFlags, durationFlag, intFlag, listFlag, runCommand, socketPathFlag } from "./errors.ts";

/** "namespace/name" of a Secret, or undefined when not given. */
export function secretRefFlag(name: string, value: unknown): { namespace: string; name: string } | undefined {
  if (value === undefined || value === "") return undefined;
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(String(value));
  if (!match) throw new CliError(`--${name} must be namespace/name, got ${JSON.stringify(value)}`);
  return { namespace: match[1]!, name: match[3]! };
}

/** gRPC's own messages through our logger (its default writes plain `E …` lines to stderr). */
function routeGrpcLogs(): void {
  const log = consola.withTag("grpc");
  grpc.setLogger({
    error: (message: unknown) => log.warn(String(message)),
    info: (message: unknown) => log.debug(String(message)),
    debug: (message: unknown) => log.trace(String(message)),
  });
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The cluster connection, unless only --manifests was given; a bad kubeconfig is a one-line error. */
function kubernetesFlags(args: Record<string, unknown>, watchNamespaces: string[]): KubernetesConnection | undefined {
  const asked = args.kubeconfig !== undefined || args.context !== undefined || args.incluster === true;
  if (args.manifests !== undefined && !asked) return undefined;
  const envoyService = args["envoy-service-name"] ? { namespace: args["envoy-service-namespace"] as string | undefined, name: String(args["envoy-service-name"]) } : undefined;
  try {
    return connectKubernetes({
      kubeconfig: args.kubeconfig as string | undefined,
      context: args.context as string | undefined,
      inCluster: args.incluster === true,
      watchNamespaces,
      statusAddress: args["ingress-status-address"] as string | undefined,
      envoyService,
      leaderElection: args["disable-leader-election"] === true ? false : leaderElectionFlags(args),
    });
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(`${error.message} (or serve a directory with --manifests DIR)`);
    throw error;
  }
}

/** The Lease and Contour's leader election timings (the lease duration in whole seconds, as the Lease records it). */
function leaderElectionFlags(args: Record<string, unknown>) {
  const seconds = (name: string) => {
    const ms = durationFlag(name, args[name]);
    if (ms <= 0) throw new CliError(`--${name} must be longer than 0, got ${JSON.stringify(args[name])}`);
    return ms / 1000;
  };
  const leaseDurationSeconds = seconds("leader-election-lease-duration");
  if (!Number.isInteger(leaseDurationSeconds)) throw new CliError(`--leader-election-lease-duration must be whole seconds (a Lease records seconds), got ${JSON.stringify(args["leader-election-lease-duration"])}`);
  const renewDeadlineSeconds = seconds("leader-election-renew-deadline");
  const retryPeriodSeconds = seconds("leader-election-retry-period");
  if (renewDeadlineSeconds >= leaseDurationSeconds) throw new CliError("--leader-election-renew-deadline must be shorter than --leader-election-lease-duration");
  if (retryPeriodSeconds >= renewDeadlineSeconds) throw new CliError("--leader-election-retry-period must be shorter than --leader-election-renew-deadline");
  return { namespace: args["leader-election-namespace"] as string | undefined, name: String(args["leader-election-name"]), leaseDurationSeconds, renewDeadlineSeconds, retryPeriodSeconds };
}

/** Envoy's listeners share one address: Contour's three address flags are accepted when they agree. */
function envoyListenerAddress(args: Record<string, unknown>): string {
  const address = addressFlag("envoy-service-http-address", args["envoy-service-http-address"]);
  for (const name of ["envoy-service-https-address", "stats-address"]) {
    const other = addressFlag(name, args[name]);
    if (other !== address) throw new CliError(`--${name} ${other} differs from --envoy-service-http-address ${address}: listeners on different addresses are not implemented; Envoy's listeners share one address`);
  }
  return address;
}

export default defineCommand({
  meta: { name: "serve", description: "build Envoy configuration from Kubernetes objects and serve it over xDS (ADS sotw and delta, per-type, SDS)" },
  args: {
    address: { type: "string", alias: "xds-address", default: "127.0.0.1", description: "address the xDS server binds" },
    port: { type: "string", alias: "xds-port", default: "8001", description: "xDS port (0: any free port)" },
    manifests: { type: "string", valueHint: "DIR", description: "serve the manifests (YAML/JSON) in this directory, watched for changes" },
    "ingress-class-name": { type: "string", description: "ingress classes to serve (repeatable, comma-separated; default: no class or \"contour\")" },
    "root-namespaces": { type: "string", valueHint: "NAMESPACES", description: "namespaces where root HTTPProxies may live (default: all)" },
    "watch-namespaces": { type: "string", description: "only read objects in these namespaces (default: all)" },
    "fallback-certificate": { type: "string", valueHint: "NS/NAME", description: "namespace/name of the Secret served to TLS clients without SNI" },
    "upstream-client-certificate": { type: "string", valueHint: "NS/NAME", description: "namespace/name of the client certificate Envoy presents to TLS upstreams" },
    "enable-external-name-service": { type: "boolean", default: false, description: "allow routes to ExternalName Services (never to loopback or link-local)" },
    "allow-loopback-endpoints": { type: "boolean", default: false, description: "serve EndpointSlice addresses on loopback (127.0.0.0/8, ::1), for local development; other non-unicast addresses are never served" },
    holdoff: { type: "string", default: "100ms", valueHint: "DURATION", description: "quiet time before a rebuild" },
    "max-holdoff": { type: "string", default: "500ms", valueHint: "DURATION", description: "longest a rebuild waits after the first change" },
    "envoy-service-http-address": { type: "string", default: "0.0.0.0", valueHint: "ADDRESS", description: "address of Envoy's HTTP listener (\"::\" listens on IPv4 too)" },
    "envoy-service-http-port": { type: "string", default: "8080", valueHint: "PORT", description: "Envoy's HTTP listener port" },
    "envoy-service-https-address": { type: "string", default: "0.0.0.0", valueHint: "ADDRESS", description: "address of Envoy's HTTPS listener: the same as the HTTP one" },
    "envoy-service-https-port": { type: "string", default: "8443", valueHint: "PORT", description: "Envoy's HTTPS listener port" },
    "stats-address": { type: "string", default: "0.0.0.0", valueHint: "ADDRESS", description: "address of Envoy's /ready and /stats listener: the same as the HTTP one" },
    "stats-port": { type: "string", default: "8002", description: "Envoy's /ready and /stats listener port" },
    "envoy-admin-socket": { type: "string", default: "/admin/admin.sock", valueHint: "PATH", description: "Envoy's admin unix socket, an absolute path (the stats listener forwards to it); with --envoy, the private one of the agent's own Envoy" },
    "envoy-xds-mode": { type: "string", default: "ads", description: "how Envoys fetch RDS, EDS and SDS: ads (bootstraps with ADS, delta or sotw) or per-type (bootstraps for the per-type services: agent bootstrap --xds-mode per-type)" },
    "envoy-xds-cluster": { type: "string", default: "isobar", description: "with --envoy-xds-mode per-type: the bootstrap's static cluster that reaches this agent" },
    "ca-file": { type: "string", alias: "contour-cafile", description: "CA bundle (PEM) client certificates must chain to (env ISOBAR_CA_FILE or CONTOUR_CAFILE); with --cert-file and --key-file: mTLS, TLS 1.3" },
    "cert-file": { type: "string", alias: "contour-cert-file", description: "the agent's server certificate (PEM) (env ISOBAR_CERT_FILE or CONTOUR_CERT_FILE)" },
    "key-file": { type: "string", alias: "contour-key-file", description: "the agent's private key (PEM) (env ISOBAR_KEY_FILE or CONTOUR_KEY_FILE)" },
    "tls-reload-interval": { type: "string", default: "5s", valueHint: "DURATION", description: "how often the TLS files are re-read (rotation without restart)" },
    insecure: { type: "boolean", default: false, description: "allow serving without TLS on an address other than loopback" },
    kubeconfig: { type: "string", valueHint: "FILE", description: "watch the cluster of this kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster); used unless only --manifests is given" },
    context: { type: "string", description: "the kubeconfig context to use" },
    incluster: { type: "boolean", default: false, description: "use the pod's service account even if a kubeconfig exists" },
    "leader-election-namespace": { type: "string", alias: "leader-election-resource-namespace", description: "namespace of the Lease (default: the agent's namespace, else isobar-system)" },
    "leader-election-name": { type: "string", alias: "leader-election-resource-name", default: "isobar-leader", description: "name of the coordination.k8s.io Lease; only its holder writes status" },
    "leader-election-lease-duration": { type: "string", default: "15s", valueHint: "DURATION", description: "how long a Lease is held without renewal before another replica takes it" },
    "leader-election-renew-deadline": { type: "string", default: "10s", valueHint: "DURATION", description: "how long the leader retries renewing before it stops leading" },
    "leader-election-retry-period": { type: "string", default: "2s", valueHint: "DURATION", description: "time between two tries to acquire or renew the Lease" },
    "disable-leader-election": { type: "boolean", default: false, description: "write status without a Lease (a single replica only)" },
    "ingress-status-address": { type: "string", valueHint: "ADDRESSES", description: "load balancer addresses written to Ingress and HTTPProxy status (IPs or hostnames, comma-separated)" },
    "envoy-service-namespace": { type: "string", description: "namespace of the Envoy Service whose load balancer address goes into status (default: the agent's namespace, else isobar-system)" },
    "envoy-service-name": { type: "string", default: "envoy", description: "name of that Envoy Service, as Contour's default (\"\": none; --ingress-status-address overrides it)" },
    ...gatewayArgs,
    "config-path": { type: "string", alias: "c", valueHint: "FILE", description: "Contour's configuration file (contour.yaml): its settings are the defaults flags override" },
    "contour-config-name": { type: "string", valueHint: "NAME", description: "read the configuration from this ContourConfiguration (in $CONTOUR_NAMESPACE or the agent's namespace; with --manifests, from the directory) at startup" },
    "accesslog-format": { type: "string", valueHint: "envoy|json", description: "Envoy's access log format (default: the configuration's, else envoy)" },
    "use-proxy-protocol": { type: "boolean", description: "Envoy's listeners expect the PROXY protocol (v1 or v2) from the load balancer" },
    ...sidecarArgs,
    ...observeArgs,
    ...contourOnlyArgs(serveContourOnly),
  },
  run: ({ args, rawArgs, cmd }) =>
    runCommand(async () => {
      const configuration = await serveConfiguration(args, rawArgs, (await resolveValue(cmd.args)) ?? {}, consola.withTag("serve"));
      const { global } = configuration;
      const { observe, shutdownGraceMs } = observeFlags(args);
      checkContourOnly(serveContourOnly, args, consola.withTag("serve"));
      // From here on SIGTERM means a graceful stop, even while starting (then it stops right after).
      const signal = untilSignal();
      keepServingOnStrayErrors();
      routeGrpcLogs();
      const listenerPorts = {
        "envoy-service-http-port": intFlag("envoy-service-http-port", args["envoy-service-http-port"], 1, 65535),
        "envoy-service-https-port": intFlag("envoy-service-https-port", args["envoy-service-https-port"], 1, 65535),
        "stats-port": intFlag("stats-port", args["stats-port"], 1, 65535),
      };
      distinctPortFlags(listenerPorts);
      const listenerAddress = envoyListenerAddress(args);
      const adminSocketPath = socketPathFlag("envoy-admin-socket", args["envoy-admin-socket"]);
      const holdoffMs = durationFlag("holdoff", args.holdoff);
      const maxDelayMs = durationFlag("max-holdoff", args["max-holdoff"]);
      if (maxDelayMs < holdoffMs) throw new CliError("--max-holdoff must not be shorter than --holdoff");
      const tlsFiles = resolveTlsFiles({ caFile: args["ca-file"], certFile: args["cert-file"], keyFile: args["key-file"] });
      const address = addressFlag("address", args.address);
      checkBindAddress(address, { tls: tlsFiles !== undefined, insecure: args.insecure });
      const reloadIntervalMs = durationFlag("tls-reload-interval", args["tls-reload-interval"]);
      const tls = tlsFiles && (await loadServerTls(tlsFiles, { reloadIntervalMs }));
      if (args.manifests !== undefined && !isDirectory(args.manifests)) throw new CliError(`--manifests ${args.manifests}: no such directory`);
      const gateway = gatewayFlags(args);
      const watchNamespaces = listFlag(args["watch-namespaces"]);
      const kubernetes = kubernetesFlags(args, watchNamespaces);
      const xdsConfigSource = choiceFlag("envoy-xds-mode", args["envoy-xds-mode"], ["ads", "per-type"] as const);
      const sidecar = sidecarFlags(args, { tls: tlsFiles !== undefined, xdsCluster: args["envoy-xds-cluster"] });
      const dag: DagOptions = {
        ingressClassNames: listFlag(args["ingress-class-name"]),
        rootNamespaces: listFlag(args["root-namespaces"]),
        fallbackCertificate: secretRefFlag("fallback-certificate", args["fallback-certificate"]),
        upstreamClientCertificate: secretRefFlag("upstream-client-certificate", args["upstream-client-certificate"]),
        enableExternalNameService: args["enable-external-name-service"],
        now: () => new Date(),
        checkCrdSchema: args.manifests !== undefined,
        ...globalDagOptions(global),
        gateway: { ...gateway, bundleVersion: kubernetes?.gatewayApiBundleVersion },
        listeners: { address: listenerAddress, httpPort: listenerPorts["envoy-service-http-port"], httpsPort: listenerPorts["envoy-service-https-port"] },
      };
      const translate: TranslateOptions = {
        statsPort: listenerPorts["stats-port"],
        address: listenerAddress,
        adminSocketPath: sidecar?.adminSocket ?? adminSocketPath,
        xdsConfigSource: xdsConfigSource === "ads" ? { kind: "ads" } : { kind: "per-type", cluster: args["envoy-xds-cluster"] },
        global,
      };
      const agent = await startAgent({
        address,
        port: intFlag("port", args.port, 0, 65535),
        credentials: tls?.credentials,
        observe,
        manifests: args.manifests,
        sources: kubernetes ? [kubernetes.source] : [],
        watchNamespaces,
        holdoffMs,
        maxDelayMs,
        dag,
        endpoints: { allowLoopback: args["allow-loopback-endpoints"] },
        translate,
      }).catch((error: unknown) => {
        if (sidecar) rmSync(sidecar.dir, { recursive: true, force: true });
        // gRPC's bind error lists every address it tried; one line that names the flag instead.
        if (!(error instanceof CliError) && /EADDRINUSE/.test(String((error as Error).message))) throw new CliError(`cannot listen for xDS (--port) on ${hostPort(address, args.port)}: address already in use`, 1);
        throw error;
      });
      if (kubernetes) agent.attachStatusReporting(kubernetes.startReporting(agent));
      // A later edit of the ContourConfiguration: its global settings apply on the next build.
      const configWatch = configuration.watch?.((next) => {
        agent.pipeline.reconfigure({ translate: { global: next }, dag: globalDagOptions(next) });
      });
      const where = hostPort(address, agent.server.port);
      const clientTls = tls ? " --ca-file CA --cert-file CLIENT_CERT --key-file CLIENT_KEY" : "";
      consola.withTag("serve").info(`look at what is served: agent xds --server ${where}${clientTls} --type cds --output pretty   (types: lds, rds, cds, eds, sds; --delta, --watch)`);
      const runtimeKeys = Object.keys(runtimeFromConfig(global.listener, [HTTP_LISTENER, HTTPS_LISTENER]));
      if (!sidecar && runtimeKeys.length > 0) consola.withTag("serve").warn(`the configuration sets Envoy runtime keys (${runtimeKeys.join(", ")}): Envoy reads them from its bootstrap, so write it with \`agent bootstrap --config-path\` and the same settings`);
      const ownEnvoy = sidecar && startSidecar(sidecar, { xdsAddress: address, xdsPort: agent.server.port, mode: xdsConfigSource === "ads" ? "delta" : "per-type", observe: agent.observe, runtime: runtimeFromConfig(global.listener, [HTTP_LISTENER, HTTPS_LISTENER]) });
      await signal;
      await shutdownAndExit(async () => {
        // Not ready first, then Envoy drained and stopped while it still gets its configuration.
        agent.observe.draining();
        configWatch?.stop();
        await ownEnvoy?.stop();
        await agent.close(shutdownGraceMs);
        tls?.close();
      }, { graceMs: shutdownGraceMs + (sidecar ? sidecarStopBoundMs(sidecar) : 0) });
    }),
});
