// A real xDS client against our server: a grpc-js channel dials `xds:///echo` through
// @grpc/grpc-js-xds, resolves it through the snapshot we serve (an api_listener, a route config, EDS
// clusters, load assignments with locality), and real RPCs reach two local echo servers by the routes.
// Then a cluster the client rejects is published: the NACK is recorded, and a corrected version recovers.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { startXdsServer } from "../src/xds/server.ts";
import type { NackRecord } from "../src/xds/nacks.ts";
import { TypeUrls, type ResourceSet } from "../src/xds/types.ts";
import { say as sayEcho, sayUntil, startEchoServer } from "./helpers/grpc-echo.ts";

const NODE_ID = "grpc-e2e-client";
function listener(): object {
  return {
    name: "echo",
    api_listener: {
      api_listener: {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        stat_prefix: "echo",
        rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "echo-routes" },
        http_filters: [{ name: "router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
      },
    },
  };
}

/** Calls with `x-target: b` go to echo-b; everything else to `fallback`. */
function routeConfig(fallback: string): object {
  return {
    name: "echo-routes",
    virtual_hosts: [
      {
        name: "echo",
        domains: ["*"],
        routes: [
          { match: { prefix: "", headers: [{ name: "x-target", string_match: { exact: "b" } }] }, route: { cluster: "echo-b" } },
          { match: { prefix: "" }, route: { cluster: fallback } },
        ],
      },
    ],
  };
}

function cluster(name: string, lbPolicy = "ROUND_ROBIN"): object {
  return {
    name,
    type: "EDS",
    connect_timeout: "1s",
    lb_policy: lbPolicy,
    eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: "V3" } },
  };
}

function loadAssignment(name: string, port: number): object {
  return {
    cluster_name: name,
    endpoints: [
      {
        locality: { region: "local", zone: "a" },
        load_balancing_weight: 1,
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }],
      },
    ],
  };
}

let store: ReturnType<typeof createSnapshotStore>;
let xds: Awaited<ReturnType<typeof startXdsServer>>;
let echoA: Awaited<ReturnType<typeof startEchoServer>>;
let echoB: Awaited<ReturnType<typeof startEchoServer>>;
let echoC: Awaited<ReturnType<typeof startEchoServer>>;
let client: grpc.Client;

function resources(options: { fallback: string; clusterC?: object }): ResourceSet {
  return {
    listeners: [listener()],
    routes: [routeConfig(options.fallback)],
    clusters: [cluster("echo-a"), cluster("echo-b"), options.clusterC ?? cluster("echo-c")],
    endpoints: [loadAssignment("echo-a", echoA.port), loadAssignment("echo-b", echoB.port), loadAssignment("echo-c", echoC.port)],
    secrets: [],
  };
}

const say = (target?: string) => sayEcho(client, target);
const until = (want: string, target?: string) => sayUntil(client, { want, target });

beforeAll(async () => {
  [echoA, echoB, echoC] = await Promise.all([startEchoServer("echo-a"), startEchoServer("echo-b"), startEchoServer("echo-c")]);
  store = createSnapshotStore();
  xds = await startXdsServer({ store, address: "127.0.0.1", port: 0 });
  store.publish(resources({ fallback: "echo-a" }));
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xds.port}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: NODE_ID, cluster: "e2e", locality: {} },
  });
  const { register } = await import("@grpc/grpc-js-xds");
  register();
  client = new grpc.Client("xds:///echo", grpc.credentials.createInsecure());
});

afterAll(async () => {
  delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG; // grpc-js-xds has read and cached it
  client?.close();
  await xds?.close();
  for (const echo of [echoA, echoB, echoC]) echo?.server.forceShutdown();
});

test("RPCs reach the echo server the routes choose", async () => {
  expect(await until("echo-a")).toBe("echo-a");
  expect(await say("b")).toBe("echo-b");
  expect(await say("a")).toBe("echo-a");
});

test("a route change moves the fallback to another cluster", async () => {
  store.publish(resources({ fallback: "echo-c" }));
  expect(await until("echo-c")).toBe("echo-c");
  expect(await say("b")).toBe("echo-b");
});

test("a cluster the client rejects is NACKed and recorded; a corrected version recovers", async () => {
  const nacked = new Promise<NackRecord>((resolve) => xds.nacks.on((nack) => resolve(nack)));
  // grpc-js-xds accepts only ROUND_ROBIN and RING_HASH clusters: MAGLEV is valid for Envoy, rejected here.
  store.publish(resources({ fallback: "echo-c", clusterC: { ...cluster("echo-c", "MAGLEV") } }));
  const nack = await nacked;
  expect(nack.nodeId).toBe(NODE_ID);
  expect(nack.cluster).toBe("e2e");
  expect(nack.typeUrl).toBe(TypeUrls.cluster);
  expect(nack.resourceNames).toContain("echo-c");
  expect(nack.errorDetail.message).toContain("unsupported lb_policy: MAGLEV");
  expect(xds.nacks.recent()).toContainEqual(nack);
  // The client keeps the last configuration it accepted: the fallback still reaches echo-c.
  expect(await say()).toBe("echo-c");

  // The corrected cluster also points at echo-a's endpoints under a new service name, so a reply
  // from echo-a on the fallback route proves the client took the version after the rejected one.
  store.publish({
    ...resources({ fallback: "echo-c", clusterC: cluster("echo-c") }),
    endpoints: [loadAssignment("echo-a", echoA.port), loadAssignment("echo-b", echoB.port), loadAssignment("echo-c", echoA.port)],
  });
  expect(await until("echo-a")).toBe("echo-a");
  expect(await say("b")).toBe("echo-b");
});
