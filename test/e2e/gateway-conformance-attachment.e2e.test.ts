// The Gateway API conformance behaviours of attachment and references, rewritten as our own tests
// through the compiled agent and a real Envoy, with the status `agent validate` prints for the same
// manifests (docs/gateway-api-conformance.md maps them): listener isolation by the most specific
// hostname, route and listener hostname intersection, listener hostnames matched on a listener at
// another port, allowedRoutes (Same, All, a Selector with matchExpressions), backendRefs across
// namespaces with and without a ReferenceGrant (and with grants that do not apply), the grant's
// removal (the route answers 500 again), a partially invalid route, and listeners added to and
// removed from the Gateway.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAgent } from "../helpers/agent-binary.ts";
import { answeredBy, eventually, freePorts, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { GATEWAY_HEAD, httpRouteHead } from "./gateway-fixtures.ts";

let stack: Stack;
let backends: Record<string, EchoBackend>;
/** Envoy's ports for two Gateway listener ports other than 80 (the Gateway's ports are these minus 8000). */
let otherEnvoyPort: number;
let addedEnvoyPort: number;

const http = (name: string, extra = "") => `    - { name: ${name}, port: 80, protocol: HTTP${extra} }`;

const gateway = (extraListeners = "") => `apiVersion: v1
kind: Namespace
metadata: { name: apps, labels: { team: a } }
---
apiVersion: v1
kind: Namespace
metadata: { name: others, labels: { team: b } }
---
${GATEWAY_HEAD}${http("empty-hostname")}
${http("wildcard-example-com", `, hostname: "*.example.com"`)}
${http("wildcard-foo-example-com", `, hostname: "*.foo.example.com"`)}
${http("abc-foo-example-com", ", hostname: abc.foo.example.com")}
${http("very-specific", ", hostname: very.specific.com")}
${http("wildcard-io", `, hostname: "*.wildcard.io"`)}
${http("anotherwildcard-io", `, hostname: "*.anotherwildcard.io"`)}
${http("selector", `, hostname: "*.apps.test", allowedRoutes: { namespaces: { from: Selector, selector: { matchExpressions: [{ key: team, operator: In, values: [a] }] } } }`)}
${http("all", `, hostname: "*.all.test", allowedRoutes: { namespaces: { from: All } }`)}
${http("same", ", hostname: same.test")}
${http("grpc-only", ", hostname: grpc-only.test, allowedRoutes: { kinds: [{ kind: GRPCRoute }] }")}
${http("invalid-kinds", ", hostname: invalid-kinds.test, allowedRoutes: { kinds: [{ kind: FooRoute }, { kind: HTTPRoute }] }")}
    - { name: other-1, port: ${otherEnvoyPort - 8000}, protocol: HTTP, hostname: bar.com }
    - { name: other-2, port: ${otherEnvoyPort - 8000}, protocol: HTTP, hostname: foo.bar.com }
    - { name: other-3, port: ${otherEnvoyPort - 8000}, protocol: HTTP, hostname: "*.bar.com" }
    - { name: other-4, port: ${otherEnvoyPort - 8000}, protocol: HTTP, hostname: "*.foo.com" }
${extraListeners}`;

const route = (namespace: string, name: string, parents: string[], hostnames: string[], rules: string) => `---
${httpRouteHead({
  name,
  namespace,
  parentRefs: parents.map((section) => `{ name: web, namespace: infra, sectionName: ${section} }`).join(", "),
  hostnames: hostnames.map((h) => JSON.stringify(h)).join(", "),
})}${rules}`;

const toBackend = (name: string, path?: string, namespace?: string) =>
  `    - ${path ? `matches: [{ path: { type: PathPrefix, value: ${path} } }]\n      ` : ""}backendRefs: [{ name: ${name}, port: 80${namespace ? `, namespace: ${namespace}` : ""} }]\n`;

const isolation = ["empty-hostname", "wildcard-example-com", "wildcard-foo-example-com", "abc-foo-example-com"].map((listener) => route("infra", `isolation-${listener}`, [listener], [], toBackend("v1", `/${listener}`))).join("");

// Unlike the suite, whose intersection routes name a Gateway of these three listeners only, they
// name the listeners: isobar serves one Gateway, and this one also has a listener without a
// hostname, which would take every hostname of a route.
const intersectionParents = ["very-specific", "wildcard-io", "anotherwildcard-io"];
const intersection = [
  route("infra", "specific-host-matches-listener-specific-host", intersectionParents, ["non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com"], toBackend("v1", "/s1")),
  route("infra", "specific-host-matches-listener-wildcard-host", intersectionParents, ["non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"], toBackend("v2", "/s2")),
  route("infra", "wildcard-host-matches-listener-specific-host", intersectionParents, ["non.matching.com", "*.specific.com"], toBackend("v3", "/s3")),
  route("infra", "wildcard-host-matches-listener-wildcard-host", intersectionParents, ["*.anotherwildcard.io"], toBackend("v1", "/s4")),
  route("infra", "no-intersecting-hosts", intersectionParents, ["specific.but.wrong.com", "wildcard.io"], toBackend("v2", "/s5")),
].join("");

/** The routes of the listeners at another port (a function: that port is picked in beforeAll). */
const listenerHostnames = () => [
  route("infra", "backend-v1", ["other-1"], [], toBackend("v1")),
  route("infra", "backend-v2", ["other-2"], [], toBackend("v2")),
  route("infra", "backend-v3", ["other-3", "other-4"], [], toBackend("v3")),
  // Attached by port alone: to every listener on that port.
  route("infra", "by-port", [], [], toBackend("v2", "/by-port")).replace("parentRefs: []", `parentRefs: [{ name: web, namespace: infra, port: ${otherEnvoyPort - 8000} }]`),
].join("");

const namespaces = [
  route("apps", "selected", ["selector"], ["a.apps.test"], toBackend("local")),
  route("others", "not-selected", ["selector"], ["b.apps.test"], toBackend("local")),
  route("others", "from-all", ["all"], ["x.all.test"], toBackend("local")),
  route("apps", "not-same", ["same"], [], toBackend("local")),
  route("infra", "same", ["same"], [], toBackend("v1", "/same")),
].join("");

/** Routes whose parentRef names no listener of the Gateway (a port, or a port with a sectionName, that does not match), or a listener that does not take HTTPRoutes. */
const unmatchedParents = `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: port-not-matching, namespace: infra }
spec:
  parentRefs: [{ name: web, port: 81 }]
  hostnames: [port.test]
  rules: [{ backendRefs: [{ name: v1, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: section-not-matching-port, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: same, port: 81 }]
  rules: [{ matches: [{ path: { value: /section-port } }], backendRefs: [{ name: v1, port: 80 }] }]
${route("infra", "disallowed-kind", ["grpc-only"], [], toBackend("v1"))}`;

const references = [
  route("apps", "granted", ["selector"], ["granted.apps.test"], toBackend("web-backend", undefined, "backends")),
  route("apps", "name-not-granted", ["selector"], ["other-name.apps.test"], toBackend("other-backend", undefined, "backends")),
  route("others", "namespace-not-granted", ["all"], ["others.all.test"], toBackend("web-backend", undefined, "backends")),
  route("apps", "partially-invalid", ["selector"], ["partial.apps.test"], toBackend("local", "/valid") + toBackend("other-backend", "/invalid", "backends")),
].join("");

const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: apps-to-web-backend, namespace: backends }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps }]
  to: [{ group: "", kind: Service, name: web-backend }]
`;

/** Grants that do not apply to the routes of `references`: the wrong namespace, kind, group or target namespace. */
const uselessGrants = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: wrong-namespace, namespace: others }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: others }]
  to: [{ group: "", kind: Service, name: web-backend }]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: wrong-from-kind, namespace: backends }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: Gateway, namespace: others }]
  to: [{ group: "", kind: Service }]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: wrong-from-group, namespace: backends }
spec:
  from: [{ group: not-the-group-youre-looking-for, kind: HTTPRoute, namespace: others }]
  to: [{ group: "", kind: Service }]
`;

beforeAll(async () => {
  backends = {};
  for (const name of ["v1", "v2", "v3", "local", "web-backend", "other-backend"]) backends[name] = await startEcho(name);
  [otherEnvoyPort, addedEnvoyPort] = (await freePorts(2)) as [number, number];
  if (Math.min(otherEnvoyPort, addedEnvoyPort) <= 8000) throw new Error("free ports too low to be Gateway ports + 8000");
  const services = [
    ...["v1", "v2", "v3"].map((name) => serviceFor("infra", name, [backends[name]!])),
    serviceFor("apps", "local", [backends.local!]),
    serviceFor("others", "local", [backends.local!]),
    serviceFor("backends", "web-backend", [backends["web-backend"]!]),
    serviceFor("backends", "other-backend", [backends["other-backend"]!]),
  ].join("---\n");
  stack = await startStack({
    manifests: { "gateway.yaml": gateway(), "services.yaml": services, "routes.yaml": isolation + intersection + listenerHostnames() + namespaces + references + unmatchedParents, "grant.yaml": grant, "useless-grants.yaml": uselessGrants },
  });
  await eventually(async () => (await send(stack.httpPort, "/s1", { host: "very.specific.com" })).status === 200, { what: "the HTTPRoutes are served" });
  await eventually(async () => (await send(otherEnvoyPort, "/", { host: "bar.com" })).status === 200, { what: "the listeners on another port are served" });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  for (const backend of Object.values(backends ?? {})) await backend.close();
});

/** The backend that answered `host` + `path` on Envoy's `port` (the plaintext listener by default), or `<status>`. */
const via = async (host: string, path = "/", port = stack.httpPort) => answeredBy(await send(port, path, { host }));

interface ValidatedObject {
  kind: string;
  namespace: string;
  name: string;
  parents?: Array<{ parentRef: { sectionName?: string }; conditions: Array<{ type: string; status: string; reason: string }> }>;
  listeners?: Array<{ name: string; attachedRoutes: number; supportedKinds: Array<{ group: string; kind: string }>; conditions: Array<{ type: string; status: string; reason: string }> }>;
}

let validation: Promise<ValidatedObject[]> | undefined;

/** What `agent validate` says of the served manifests: each object's conditions (run again after `changed()`). */
function validated(): Promise<ValidatedObject[]> {
  validation ??= runAgent(["validate", join(stack.dir, "manifests"), "--output", "json", "--allow-loopback-endpoints"]).then((run) => (JSON.parse(run.stdout) as { objects: ValidatedObject[] }).objects);
  return validation;
}

/** The served manifests changed: the next `validated()` runs `agent validate` again. */
const changed = () => (validation = undefined);

/** A route's parent conditions as `Type=Status Reason`, one list per parentRef. */
async function routeConditions(namespace: string, name: string): Promise<string[][]> {
  const route = (await validated()).find((o) => o.kind === "HTTPRoute" && o.namespace === namespace && o.name === name);
  return (route?.parents ?? []).map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`));
}

test("listener isolation: a request is served only by the routes of the listener with the most specific matching hostname", async () => {
  const table: Array<[string, string, string]> = [];
  for (const host of ["bar.com", "bar.example.com", "bar.foo.example.com", "abc.foo.example.com"]) {
    for (const path of ["/empty-hostname", "/wildcard-example-com", "/wildcard-foo-example-com", "/abc-foo-example-com"]) table.push([host, path, await via(host, path)]);
  }
  const served = table.filter(([, , answer]) => answer !== "<404>").map(([host, path, answer]) => `${host}${path} ${answer}`);
  expect(served).toEqual(["bar.com/empty-hostname v1", "bar.example.com/wildcard-example-com v1", "bar.foo.example.com/wildcard-foo-example-com v1", "abc.foo.example.com/abc-foo-example-com v1"]);
  expect(table.every(([, , answer]) => answer === "v1" || answer === "<404>")).toBe(true);
});

test("hostname intersection: a route serves the hostnames it shares with its listeners, also with a port in the Host", async () => {
  expect(await via("very.specific.com", "/s1")).toBe("v1");
  expect(await via("very.specific.com:1234", "/s1")).toBe("v1");
  for (const host of ["non.matching.com", "foo.nonmatchingwildcard.io", "foo.wildcard.io"]) expect(await via(host, "/s1")).toBe("<404>");
  for (const host of ["foo.wildcard.io", "bar.wildcard.io", "foo.bar.wildcard.io"]) expect(await via(host, "/s2")).toBe("v2");
  for (const host of ["non.matching.com", "wildcard.io", "very.specific.com"]) expect(await via(host, "/s2")).toBe("<404>");
  expect(await via("very.specific.com", "/s3")).toBe("v3");
  for (const host of ["non.matching.com", "foo.specific.com", "foo.wildcard.io"]) expect(await via(host, "/s3")).toBe("<404>");
  for (const host of ["foo.anotherwildcard.io", "bar.anotherwildcard.io", "foo.bar.anotherwildcard.io"]) expect(await via(host, "/s4")).toBe("v1");
  for (const host of ["anotherwildcard.io", "foo.wildcard.io", "very.specific.com"]) expect(await via(host, "/s4")).toBe("<404>");
  for (const host of ["specific.but.wrong.com", "wildcard.io"]) expect(await via(host, "/s5")).toBe("<404>");
  // The route that shares no hostname with any listener is not accepted, by each parentRef.
  expect((await routeConditions("infra", "no-intersecting-hosts")).map((c) => c[0])).toEqual(Array(3).fill("Accepted=False NoMatchingListenerHostname"));
  expect((await routeConditions("infra", "specific-host-matches-listener-specific-host")).map((c) => c[0])).toEqual(["Accepted=True Accepted", "Accepted=False NoMatchingListenerHostname", "Accepted=False NoMatchingListenerHostname"]);
});

test("listener hostnames on a listener at another port: routes without hostnames take their listener's; a parentRef by port", async () => {
  const port = otherEnvoyPort;
  expect(await via("bar.com", "/", port)).toBe("v1");
  expect(await via("foo.bar.com", "/", port)).toBe("v2");
  for (const host of ["baz.bar.com", "boo.bar.com", "multiple.prefixes.bar.com", "multiple.prefixes.foo.com"]) expect(await via(host, "/", port)).toBe("v3");
  for (const host of ["foo.com", "no.matching.host"]) expect(await via(host, "/", port)).toBe("<404>");
  // A parentRef by port attaches the route to each listener on that port, and to no other.
  for (const host of ["bar.com", "foo.bar.com", "baz.bar.com", "x.foo.com"]) expect(await via(host, "/by-port", port)).toBe("v2");
  expect((await routeConditions("infra", "by-port"))).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
  // The plaintext listener (port 80) has none of these routes.
  expect(await via("foo.bar.com", "/")).toBe("<404>");
  expect(await via("bar.com", "/by-port")).toBe("<404>");
});

test("allowedRoutes: Same (the default), All, and a Selector with matchExpressions admit routes by their namespace", async () => {
  expect(await via("a.apps.test")).toBe("local");
  expect(await via("b.apps.test")).toBe("<404>");
  expect(await via("x.all.test")).toBe("local");
  expect(await via("same.test", "/same")).toBe("v1");
  expect(await via("same.test", "/")).toBe("<404>");
  expect(await routeConditions("others", "not-selected")).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await routeConditions("apps", "not-same")).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await routeConditions("others", "from-all")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
  const listeners = (await validated()).find((o) => o.kind === "Gateway")!.listeners!;
  const attached = Object.fromEntries(listeners.map((l) => [l.name, l.attachedRoutes]));
  // The selector listener: selected, granted, name-not-granted, partially-invalid (apps), not the one from others; other-3: backend-v3 and by-port.
  expect([attached.selector, attached.all, attached.same, attached["very-specific"], attached["other-3"]]).toEqual([4, 2, 1, 2, 2]);
});

test("parentRefs that match no listener, and a listener that does not take HTTPRoutes: not accepted, not served", async () => {
  expect(await routeConditions("infra", "port-not-matching")).toEqual([["Accepted=False NoMatchingParent", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await routeConditions("infra", "section-not-matching-port")).toEqual([["Accepted=False NoMatchingParent", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await routeConditions("infra", "disallowed-kind")).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await via("port.test")).toBe("<404>");
  expect(await via("same.test", "/section-port")).toBe("<404>");
  expect(await via("grpc-only.test")).toBe("<404>");
  // A listener naming a kind that is not served: ResolvedRefs=False InvalidRouteKinds, the kinds it can serve kept.
  const listener = (await validated()).find((o) => o.kind === "Gateway")!.listeners!.find((l) => l.name === "invalid-kinds")!;
  expect(listener.conditions.find((c) => c.type === "ResolvedRefs")).toMatchObject({ status: "False", reason: "InvalidRouteKinds" });
  expect(listener.supportedKinds).toEqual([{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }]);
});

test("backendRefs across namespaces: served only through a ReferenceGrant that names the route's namespace, kind and the Service", async () => {
  expect(await via("granted.apps.test")).toBe("web-backend");
  // The grant names another Service; the grants in others or for other kinds and groups do not apply: 500.
  expect(await via("other-name.apps.test")).toBe("<500>");
  expect(await via("others.all.test")).toBe("<500>");
  expect(backends["other-backend"]!.received.length).toBe(0);
  expect(await routeConditions("apps", "granted")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
  expect(await routeConditions("apps", "name-not-granted")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
  expect(await routeConditions("others", "namespace-not-granted")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
});

test("a partially invalid route: its valid rule is served, the one with a backend not granted answers 500", async () => {
  expect(await via("partial.apps.test", "/valid")).toBe("local");
  expect(await via("partial.apps.test", "/invalid")).toBe("<500>");
  expect(await routeConditions("apps", "partially-invalid")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
});

test("removing the ReferenceGrant stops the route; putting it back serves it again", async () => {
  stack.remove("grant.yaml");
  changed();
  await eventually(async () => (await via("granted.apps.test")) === "<500>", { what: "the route without its grant answers 500" });
  expect(await routeConditions("apps", "granted")).toEqual([["Accepted=True Accepted", "ResolvedRefs=False RefNotPermitted"]]);
  stack.write("grant.yaml", grant);
  changed();
  await eventually(async () => (await via("granted.apps.test")) === "web-backend", { what: "the route with its grant again is served" });
});

test("listeners added to the Gateway take their routes; removed, they stop serving them", async () => {
  const added = `    - { name: added, port: ${addedEnvoyPort - 8000}, protocol: HTTP }\n`;
  stack.write("added-route.yaml", route("infra", "on-added", ["added"], ["added.test"], toBackend("v2")).slice(4));
  changed();
  expect((await routeConditions("infra", "on-added"))[0]![0]).toBe("Accepted=False NoMatchingParent");
  stack.write("gateway.yaml", gateway(added));
  changed();
  await eventually(async () => (await via("added.test", "/", addedEnvoyPort).catch(() => "refused")) === "v2", { what: "the added listener serves its route" });
  expect(await routeConditions("infra", "on-added")).toEqual([["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"]]);
  stack.write("gateway.yaml", gateway());
  await eventually(async () => (await via("added.test", "/", addedEnvoyPort).catch(() => "refused")) === "refused", { what: "the removed listener is gone from Envoy" });
  // The other listeners kept serving throughout.
  expect(await via("very.specific.com", "/s1")).toBe("v1");
});
