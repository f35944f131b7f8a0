// Per-host route delivery through the real Envoy: an Envoy on delta ADS gets `ingress_http` as a VHDS
// shell and its hosts as VirtualHost resources (src/xds/vhds.ts). Exact, wildcard and default hosts
// route; an edited Ingress reaches Envoy as one VHDS update (no RDS update); a removed host 404s; a
// state-of-the-world Envoy on the same agent keeps the classic route configuration.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type EnvoyProcess, type Stack } from "./harness.ts";

let stack: Stack;
let a: EchoBackend;
let b: EchoBackend;
let c: EchoBackend;

const ingress = (name: string, host: string, service: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: "${host}"
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }
`;

const defaultHost = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: fallback, namespace: default }
spec:
  defaultBackend: { service: { name: c, port: { number: 80 } } }
`;

beforeAll(async () => {
  [a, b, c] = [await startEcho("a"), await startEcho("b"), await startEcho("c")];
  stack = await startStack({
    manifests: {
      "svc.yaml": [serviceFor("default", "a", [a]), serviceFor("default", "b", [b]), serviceFor("default", "c", [c])].join("---\n"),
      "one.yaml": ingress("one", "one.example.com", "a"),
      "two.yaml": ingress("two", "two.example.com", "a"),
      "wild.yaml": ingress("wild", "*.wild.example.com", "b"),
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([a, b, c].map((backend) => backend?.close()));
});

/** Envoy's dynamic route configurations from its config dump. */
async function dumpedRoutes(envoy: EnvoyProcess): Promise<Array<{ route_config: { name: string; virtual_hosts?: Array<{ name: string; domains: string[] }>; vhds?: unknown } }>> {
  const dump = await envoy.configDump();
  const routes = dump.configs.find((config) => config["@type"] === "type.googleapis.com/envoy.admin.v3.RoutesConfigDump") as { dynamic_route_configs?: Array<{ route_config: never }> } | undefined;
  return routes?.dynamic_route_configs ?? [];
}

const backendOf = async (envoy: { port: number }, host: string) => {
  const response = await send(envoy.port, "/", { host });
  return response.status === 200 ? (response.json().backend as string) : response.status;
};

test("an Envoy on delta ADS gets ingress_http as a VHDS shell and routes exact and wildcard hosts", async () => {
  const http = { port: stack.httpPort };
  expect(await backendOf(http, "one.example.com")).toBe("a");
  expect(await backendOf(http, "two.example.com")).toBe("a");
  expect(await backendOf(http, "x.wild.example.com")).toBe("b");
  expect(await backendOf(http, "nobody.example.com")).toBe(404);
  // The route configuration came with a vhds config source and its hosts over VHDS, by their VHDS names.
  const [config] = (await dumpedRoutes(stack.envoy)).filter((route) => route.route_config.name === "ingress_http");
  expect(config?.route_config.vhds).toBeDefined();
  expect(config!.route_config.virtual_hosts!.map((vhost) => vhost.name).sort()).toEqual(["ingress_http/*.wild.example.com", "ingress_http/one.example.com", "ingress_http/two.example.com"]);
  expect(await stack.envoy.stat("http.ingress_http.rds.ingress_http.update_success")).toBe(1);
});

test("an edited Ingress reaches Envoy as one VHDS update, not a route configuration update", async () => {
  const rdsBefore = await stack.envoy.stat("http.ingress_http.rds.ingress_http.update_success");
  const vhdsBefore = (await stack.envoy.stat("http.ingress_http.rds.vhds.ingress_http.config_reload")) ?? 0;
  stack.write("one.yaml", ingress("one", "one.example.com", "c"));
  await eventually(async () => (await backendOf({ port: stack.httpPort }, "one.example.com")) === "c", { what: "one.example.com served by c" });
  expect(await backendOf({ port: stack.httpPort }, "two.example.com")).toBe("a");
  expect(await stack.envoy.stat("http.ingress_http.rds.ingress_http.update_success")).toBe(rdsBefore);
  expect(await stack.envoy.stat("http.ingress_http.rds.vhds.ingress_http.config_reload")).toBeGreaterThan(vhdsBefore);
});

test("a removed host 404s, and the default host serves what no other host does", async () => {
  stack.remove("two.yaml");
  await eventually(async () => (await backendOf({ port: stack.httpPort }, "two.example.com")) === 404, { what: "two.example.com gone" });
  const names = (await dumpedRoutes(stack.envoy)).flatMap((route) => route.route_config.virtual_hosts ?? []).map((vhost) => vhost.name);
  expect(names).not.toContain("ingress_http/two.example.com");
  stack.write("fallback.yaml", defaultHost);
  await eventually(async () => (await backendOf({ port: stack.httpPort }, "nobody.example.com")) === "c", { what: "the default host serving unknown hosts" });
  expect(await backendOf({ port: stack.httpPort }, "one.example.com")).toBe("c");
  expect(await backendOf({ port: stack.httpPort }, "y.wild.example.com")).toBe("b");
  expect(await stack.envoy.stat("http.ingress_http.rds.ingress_http.update_success")).toBe(1);
});

test("a state-of-the-world Envoy on the same agent keeps the classic route configuration", async () => {
  const sotw = await stack.addEnvoy({
    edit: (bootstrap) => {
      const ads = (bootstrap.dynamic_resources as { ads_config: { api_type: string } }).ads_config;
      ads.api_type = "GRPC";
    },
  });
  const [config] = (await dumpedRoutes(sotw)).filter((route) => route.route_config.name === "ingress_http");
  expect(config?.route_config.vhds).toBeUndefined();
  expect(config!.route_config.virtual_hosts!.map((vhost) => vhost.name)).toContain("one.example.com");
  expect(await sotw.stat("http.ingress_http.rds.vhds.ingress_http.config_reload")).toBeUndefined();
});

test("a route configuration that gets its first host while Envoy runs serves it, and no host once the last is gone", async () => {
  const empty = await startStack({ manifests: { "svc.yaml": serviceFor("default", "a", [a]) }, listeners: [] });
  try {
    empty.write("one.yaml", ingress("one", "one.example.com", "a"));
    await empty.envoy.ready(["ingress_http"]);
    await eventually(async () => (await backendOf({ port: empty.httpPort }, "one.example.com")) === "a", { what: "one.example.com served by a" });
    expect(await empty.envoy.stat("http.ingress_http.rds.vhds.ingress_http.init_fetch_timeout")).toBe(0);
    // The last host goes: the route config is whole (and empty) again, and Envoy serves no host.
    empty.remove("one.yaml");
    await eventually(async () => (await backendOf({ port: empty.httpPort }, "one.example.com")) === 404, { what: "one.example.com gone" });
    const names = (await dumpedRoutes(empty.envoy)).flatMap((route) => route.route_config.virtual_hosts ?? []).map((vhost) => vhost.name);
    expect(names).toEqual([]);
    // And a host again: the route config is a shell again, its host served.
    empty.write("two.yaml", ingress("two", "two.example.com", "a"));
    await eventually(async () => (await backendOf({ port: empty.httpPort }, "two.example.com")) === "a", { what: "two.example.com served by a" });
  } finally {
    await empty.stop();
  }
}, 60_000);
