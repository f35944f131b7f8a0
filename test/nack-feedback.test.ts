// NACK feedback end to end: Kubernetes objects → object cache → the real pipeline (DAG, translator,
// validator, NACK feedback) → snapshot store → xDS server → a real @grpc/grpc-js-xds client making
// RPCs to local echo servers. The route config the pipeline builds (ingress_http) is the one the
// client routes by; the only thing added for it is an api_listener named after the client's target
// (the pipeline's socket listeners are for Envoy, a proxyless client asks for a listener by name).
// An Ingress whose Prefix path becomes path_separated_prefix, which grpc-js-xds rejects, is added:
// the NACK is recorded and the Ingress says why; what is built and served to everyone else is not
// changed; the client that rejected it is sent the route config without that virtual host, so later
// changes to another object still reach it, and fixing the Ingress clears the condition and the
// client gets the virtual host. (Until issue 10 a NACK left the virtual host out for every client.)
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { say, sayUntil, startEchoServer } from "./helpers/grpc-echo.ts";
import type { ObjectStatus } from "../src/dag/status.ts";
import { connectNackFeedback, createNackFeedback, type NackFeedback } from "../src/pipeline/nack-feedback.ts";
import { createPipeline, type BuildEvent, type Pipeline } from "../src/pipeline/run.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import type { KubeObject, SourceHandler } from "../src/sources/types.ts";
import type { NackRecord } from "../src/xds/nacks.ts";
import type { XdsEvent } from "../src/xds/server-common.ts";
import { startXdsServer } from "../src/xds/server.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import { TypeUrls } from "../src/xds/types.ts";

const TARGET = "echo.test";
const meta = (name: string, extra: object = {}) => ({ name, namespace: "default", generation: 1, ...extra });

function service(name: string, port: number): KubeObject[] {
  return [
    { apiVersion: "v1", kind: "Service", metadata: meta(name), spec: { ports: [{ name: "grpc", port: 80, targetPort: "grpc" }] } },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: meta(`${name}-1`, { labels: { "kubernetes.io/service-name": name } }),
      addressType: "IPv4",
      ports: [{ name: "grpc", port }],
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true }, zone: "local" }],
    },
  ];
}

/** Calls with `x-target: b` go to echo-b, the rest to `fallback`. */
function echoProxy(fallback: string): KubeObject {
  return {
    apiVersion: "projectcontour.io/v1",
    kind: "HTTPProxy",
    metadata: meta("echo"),
    spec: {
      virtualhost: { fqdn: TARGET },
      routes: [
        { conditions: [{ header: { name: "x-target", exact: "b" } }], services: [{ name: "echo-b", port: 80 }] },
        { services: [{ name: fallback, port: 80 }] },
      ],
    },
  };
}

/** A Prefix path other than "/" becomes path_separated_prefix, which grpc-js-xds does not support. */
function badIngress(pathType: "Prefix" | "Exact"): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta("bad"),
    spec: { rules: [{ host: "bad.test", http: { paths: [{ path: "/api", pathType, backend: { service: { name: "echo-c", port: { number: 80 } } } }] } }] },
  };
}

/** The proxyless client's listener: an api_listener that routes by the pipeline's ingress_http. */
const apiListener = {
  name: TARGET,
  api_listener: {
    api_listener: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
      stat_prefix: "echo",
      rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "ingress_http" },
      http_filters: [{ name: "router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
    },
  },
};

let store: SnapshotStore;
let xds: Awaited<ReturnType<typeof startXdsServer>>;
let pipeline: Pipeline;
let feedback: NackFeedback;
let disconnect: () => void;
let handler: SourceHandler;
let client: grpc.Client;
const echo: Record<string, Awaited<ReturnType<typeof startEchoServer>>> = {};

const call = (target?: string) => say(client, target);
const until = (want: string, target?: string) => sayUntil(client, { want, target });

/** The first event from `on` that `matches`; stops listening then. */
function next<E>(on: (listener: (event: E) => void) => () => void, matches: (event: E) => boolean): Promise<E> {
  return new Promise((resolve) => {
    const stop = on((event) => {
      if (!matches(event)) return;
      stop();
      resolve(event);
    });
  });
}
const nextBuild = (matches: (event: BuildEvent) => boolean) => next(pipeline.onBuild, matches);
const nextXdsEvent = (matches: (event: XdsEvent) => boolean) => next(xds.on, matches);

const statusOf = (event: BuildEvent, kind: string, name: string): ObjectStatus | undefined =>
  event.result.statuses.find((s) => s.ref.kind === kind && s.ref.name === name && s.ref.namespace === "default");

const servedVirtualHosts = () => ((store.resources(TypeUrls.route).get("ingress_http")?.json as { virtual_hosts?: Array<{ name: string }> }).virtual_hosts ?? []).map((v) => v.name);

function upsert(...objects: KubeObject[]): void {
  handler.onEvents(objects.map((object) => ({ type: "upsert" as const, object })));
}

beforeAll(async () => {
  for (const name of ["echo-a", "echo-b", "echo-c"]) echo[name] = await startEchoServer(name);
  store = createSnapshotStore();
  // The pipeline publishes through this: its set plus the proxyless client's listener.
  const forGrpc = Object.create(store) as SnapshotStore;
  forGrpc.publish = (set) => store.publish({ ...set, listeners: [...set.listeners, apiListener] });
  feedback = createNackFeedback(store);
  const cache = createObjectCache({ ingressClassNames: [] });
  pipeline = createPipeline(forGrpc, cache, {
    dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date() },
    // The echo backends run on this machine: loopback endpoints are served only when allowed.
    endpoints: { allowLoopback: true },
    holdoffMs: 5,
    maxDelayMs: 50,
    sources: ["test"],
    beforePublish: feedback.apply,
  });
  xds = await startXdsServer({ store, address: "127.0.0.1", port: 0 });
  disconnect = connectNackFeedback(feedback, { server: xds, pipeline });
  handler = pipeline.handlerFor("test");
  const first = nextBuild(() => true);
  upsert(...service("echo-a", echo["echo-a"]!.port), ...service("echo-b", echo["echo-b"]!.port), ...service("echo-c", echo["echo-c"]!.port), echoProxy("echo-a"));
  handler.onSynced();
  await first;
  // Per-channel bootstrap: this client has its own xDS client, whatever else runs in the process.
  const bootstrap = {
    xds_servers: [{ server_uri: `127.0.0.1:${xds.port}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: "nack-feedback-client", cluster: "e2e", locality: {} },
  };
  const { register } = await import("@grpc/grpc-js-xds");
  register();
  client = new grpc.Client(`xds:///${TARGET}`, grpc.credentials.createInsecure(), { "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap) });
});

afterAll(async () => {
  client?.close();
  disconnect?.();
  feedback?.stop();
  await pipeline?.stop();
  await xds?.close();
  for (const server of Object.values(echo)) server.server.forceShutdown();
});

test("RPCs follow the routes the pipeline built", async () => {
  expect(await until("echo-a")).toBe("echo-a");
  expect(await call("b")).toBe("echo-b");
});

test("a rejected virtual host is NACKed, its Ingress says why, it is left out for that client only, and later changes still reach the client", async () => {
  const nacked = new Promise<NackRecord>((resolve) => xds.nacks.on(resolve));
  const reported = nextBuild((event) => statusOf(event, "Ingress", "bad")?.errors.some((e) => e.reason === "ResourceNacked") ?? false);
  upsert(badIngress("Prefix"));

  // (a) the NACK is recorded, naming the route config and the virtual host
  const nack = await nacked;
  expect(nack.typeUrl).toBe(TypeUrls.route);
  expect(nack.resourceNames).toEqual(["ingress_http"]);
  expect(nack.rejected.map((r) => r.name)).toEqual(["ingress_http"]);
  expect(nack.errorDetail.message).toContain("virtual_hosts[bad.test]");
  expect(xds.nacks.recent()).toContainEqual(nack);

  // (b) the Ingress behind that virtual host carries the error Envoy returned; the HTTPProxy does not
  const event = await reported;
  const status = statusOf(event, "Ingress", "bad")!;
  expect(status.currentStatus).toBe("invalid");
  expect(status.errors).toContainEqual({ type: "EnvoyConfigError", reason: "ResourceNacked", message: `Envoy rejected RouteConfiguration "ingress_http": ${nack.errorDetail.message}` });
  expect(nack.errorDetail.message).toBe(
    "xDS response validation errors: [resource index 0: RouteConfiguration message validation failed: [virtual_hosts[bad.test].routes[].match: unsupported path_specifier: path_separated_prefix]]",
  );
  expect(statusOf(event, "HTTPProxy", "echo")?.currentStatus).toBe("valid");
  expect(feedback.rejections().map((r) => [r.name, r.virtualHost, r.nodeId])).toEqual([["ingress_http", "bad.test", "nack-feedback-client"]]);
  // what is served to every other client is what is built: bad.test included
  expect(servedVirtualHosts()).toEqual(["bad.test", TARGET]);

  // (c) an unrelated change to the HTTPProxy still reaches the client: it is sent ingress_http without
  // the virtual host it rejected (the new one would otherwise make it reject every later ingress_http)
  const acked = nextXdsEvent((e) => e.kind === "ack" && e.typeUrl === TypeUrls.route);
  upsert(echoProxy("echo-c"));
  expect(await until("echo-c")).toBe("echo-c");
  expect(await call("b")).toBe("echo-b");
  await acked;
  expect(xds.nacks.recent()).toHaveLength(1);
});

test("fixing the object clears the condition and its virtual host is served to the client again", async () => {
  const fixed = nextBuild((event) => statusOf(event, "Ingress", "bad")?.currentStatus === "valid");
  const acked = nextXdsEvent((e) => e.kind === "ack" && e.typeUrl === TypeUrls.route);
  upsert(badIngress("Exact"));
  const event = await fixed;
  expect(statusOf(event, "Ingress", "bad")!.errors).toEqual([]);
  expect(feedback.rejections()).toEqual([]);
  expect(servedVirtualHosts()).toEqual(["bad.test", TARGET]);
  await acked;
  expect(xds.nacks.recent()).toHaveLength(1);
  // and traffic still flows by the current routes
  expect(await call()).toBe("echo-c");
  expect(await call("b")).toBe("echo-b");
});
