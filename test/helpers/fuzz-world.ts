// The random Kubernetes world of the translation fuzz: Services, EndpointSlices, Secrets, a
// TLSCertificateDelegation, Ingresses and HTTPProxies with odd hosts, paths, regexes, headers with `%`
// and unicode, weights, missing Services, include cycles and dangling includes. Shared by the
// in-process fuzz (test/translation-fuzz.test.ts) and the differential fuzz against a real Envoy
// (test/e2e/envoy-fuzz.e2e.test.ts).
import fc from "fast-check";
import { join } from "node:path";
import { loadManifests } from "../../src/sources/manifests.ts";
import type { DagOptions } from "../../src/dag/processor.ts";
import type { KubeObject } from "../../src/sources/types.ts";
import { goldenNow } from "./golden-build.ts";

/** Secret contents borrowed from the golden inputs: good, opaque, mismatch, expired (TLS), client-ca, client-crl. */
const secretBodies = new Map<string, { type: unknown; data: Record<string, string> }>();

/** Loads the borrowed Secret bodies (once, before the first objectsOf); returns their names. */
export async function loadSecretBodies(): Promise<string[]> {
  for (const golden of ["ingress-tls-bad-secret", "httpproxy-tls-client-validation"]) {
    const loaded = await loadManifests(join(import.meta.dir, "../testdata", golden, "input.yaml"));
    for (const { object } of loaded.objects) if (object.kind === "Secret") secretBodies.set(object.metadata.name, { type: object.type, data: object.data as Record<string, string> });
  }
  return [...secretBodies.keys()];
}

const namespaces = ["default", "team"] as const;
const serviceNames = ["s0", "s1", "s2", "gone"] as const;
const secretNames = ["tls0", "tls1", "ca", "crl", "nothing"] as const;
const proxyNames = ["p0", "p1", "p2", "p3"] as const;

/**
 * The random world: Services, EndpointSlices, Secrets, a delegation, Ingresses and HTTPProxies.
 * `cleanliness` scales how much likelier a valid value is than an odd one: one bad field invalidates a
 * whole HTTPProxy, so a clean world reaches deep into valid configurations and a dirty one into errors.
 */
function worldArbitrary(cleanliness: number) {
  /** Mostly `valid`, now and then `odd`: one bad field invalidates a whole HTTPProxy, so keep them rare. */
  function mostly<T, U>(valid: fc.Arbitrary<T>, odd: fc.Arbitrary<U>, weight = 6): fc.Arbitrary<T | U> {
    return fc.oneof({ weight: weight * cleanliness, arbitrary: valid }, { weight: 1, arbitrary: odd });
  }
  /** Short strings from every corner of Unicode, and the characters Envoy's formatter and regexes care about. */
  const oddText = fc.oneof(
    fc.string({ maxLength: 6 }),
    fc.string({ unit: "binary", maxLength: 4 }),
    fc.constantFrom("%", "100%", "%%", "%START_TIME%", "%DOWNSTREAM_REMOTE_ADDRESS%", "%REQ(x)%", "ü", "日本", "a\nb", "\u0000", " x ", "\t", "", "%".repeat(8200)),
  );
  const host = mostly(
    fc.constantFrom("a.example.com", "b.example.com", "c.example.com", "d.example.com", "e.example.com", "*.example.com"),
    fc.oneof(fc.constantFrom("*", "", "A.Example.COM", "a..b", "foo.com.", "xn--bcher-kva.example", "bücher.example", "*.*.com", "-a.com", "a_b.com", `${"x".repeat(64)}.com`), fc.domain()),
    3,
  );
  const path = mostly(
    fc.constantFrom("/", "/a", "/a/", "/a/b", "/b"),
    fc.oneof(
      fc.constantFrom("", "a", "//", "/%", "/%2F", "/[", "/a+", "/(?=x)", "/(a)\\1", "/ü", "/a b", "/*", "/.*", "^/a$", "/a{1000}", "/\u0000", "/a\nb", "/\r\n", "/a?b", "/#"),
      fc.string({ maxLength: 5 }).map((s) => `/${s}`),
      fc.string({ unit: "binary", maxLength: 3 }).map((s) => `/${s}`),
    ),
    8,
  );
  const port = mostly(fc.constantFrom(80, 80, 443, 9000, "http"), fc.constantFrom(0, 65536, -1, "https", "grpc", ""));

  const serviceAnnotations = fc.dictionary(
    fc.constantFrom(
      "projectcontour.io/upstream-protocol.h2",
      "projectcontour.io/upstream-protocol.h2c",
      "projectcontour.io/upstream-protocol.tls",
      "projectcontour.io/max-connections",
      "projectcontour.io/per-host-max-connections",
      "projectcontour.io/max-requests",
    ),
    fc.constantFrom("80", "443", "http,https", "9000", "-1", "4294967296", "x", ""),
    { maxKeys: 2 },
  );

  const serviceSpec = fc.record({
    ports: mostly(fc.uniqueArray(fc.constantFrom(443, 9000), { maxLength: 2 }).map((more) => [80, ...more]), fc.uniqueArray(fc.constantFrom(80, 443, 9000), { minLength: 1, maxLength: 3 })),
    annotations: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: serviceAnnotations }),
    externalName: mostly(fc.constant(undefined), fc.constantFrom("api.partner.example", "api.partner.example", "localhost", "127.0.0.1", "169.254.169.254", "::1", "0.0.0.0", "", "Example.COM."), 3),
    endpoints: fc.array(
      fc.record({
        address: mostly(fc.ipV4(), fc.oneof(fc.ipV6(), fc.constantFrom("not-an-ip", "", "10.0.0.1"))),
        ready: fc.constantFrom(true, false, undefined),
        zone: fc.option(mostly(fc.constantFrom("zone-a", "zone-b"), oddText), { nil: undefined }),
      }),
      { maxLength: 3 },
    ),
  });

  const serviceName = mostly(fc.constantFrom("s0", "s1", "s2"), fc.constant("gone"));
  const backend = fc.record({ service: fc.record({ name: serviceName, port: port.map((p) => (typeof p === "number" ? { number: p } : { name: p })) }) });

  const ingressAnnotations = fc.dictionary(
    fc.constantFrom(
      "projectcontour.io/response-timeout",
      "projectcontour.io/retry-on",
      "projectcontour.io/num-retries",
      "projectcontour.io/per-try-timeout",
      "projectcontour.io/websocket-routes",
      "projectcontour.io/tls-minimum-protocol-version",
      "ingress.kubernetes.io/force-ssl-redirect",
      "kubernetes.io/ingress.allow-http",
    ),
    fc.constantFrom("30s", "infinity", "-1s", "1h2m", "x", "", "5xx,gateway-error", "retriable-status-codes", "3", "-1", "99999999999", "/", "/a, /b", "1.3", "1.1", "true", "false"),
    { maxKeys: 3 },
  );

  const secretName = mostly(fc.constantFrom("tls0", "tls0", "team/tls1", "default/tls0"), fc.constantFrom(...secretNames));

  const ingressArb = fc.record({
    namespace: fc.constantFrom(...namespaces),
    name: fc.constantFrom("i0", "i1", "i2"),
    annotations: fc.oneof(fc.constant({}), ingressAnnotations),
    spec: fc.record(
      {
        defaultBackend: backend,
        tls: fc.array(fc.record({ hosts: fc.array(host, { maxLength: 2 }), secretName }), { maxLength: 2 }),
        rules: fc.array(
          fc.record(
            {
              host,
              http: fc.record({ paths: fc.array(fc.record({ path, pathType: mostly(fc.constantFrom("Exact", "Prefix", "ImplementationSpecific"), fc.constant("Glob")), backend }), { maxLength: 3 }) }),
            },
            { requiredKeys: ["http"] },
          ),
          { maxLength: 3 },
        ),
      },
      { requiredKeys: [] },
    ),
  });

  const condition = fc.oneof(
    { weight: 4, arbitrary: fc.record({ prefix: path }) },
    fc.record({ exact: path }),
    fc.record({ regex: path }),
    fc.record({
      header: fc.oneof(
        fc.record({ name: mostly(fc.constantFrom("x-a", "X-B"), fc.constantFrom(":authority", "bad name", "ü", "", "a\nb", "\u0000")), present: fc.constant(true) }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), notpresent: fc.constant(true) }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), exact: oddText, ignoreCase: fc.boolean() }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), notexact: oddText }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), contains: oddText, treatMissingAsEmpty: fc.boolean() }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), notcontains: oddText }),
        fc.record({ name: fc.constantFrom("x-a", "x-b"), regex: fc.oneof(path, oddText) }),
      ),
    }),
    fc.record({
      queryParameter: fc.oneof(
        fc.record({ name: mostly(fc.constant("q"), fc.constantFrom("ü", "", "a b")), exact: oddText }),
        fc.record({ name: fc.constantFrom("q", "r"), prefix: oddText, ignoreCase: fc.boolean() }),
        fc.record({ name: fc.constantFrom("q", "r"), suffix: oddText }),
        fc.record({ name: fc.constantFrom("q", "r"), contains: oddText }),
        fc.record({ name: fc.constantFrom("q", "r"), regex: fc.oneof(path, oddText) }),
        fc.record({ name: fc.constantFrom("q", "r"), present: fc.constant(true) }),
      ),
    }),
  );
  const conditions = fc.oneof({ weight: 3, arbitrary: fc.array(condition, { maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(condition, { maxLength: 3 }) });

  const headersPolicy = fc.record(
    {
      set: fc.array(fc.record({ name: mostly(fc.constantFrom("x-a", "Host", "x-b"), fc.constantFrom("x-ü", "bad name", ":path", "")), value: oddText }), { maxLength: 2 }),
      remove: fc.array(mostly(fc.constant("x-c"), fc.constantFrom("bad name", "Host")), { maxLength: 1 }),
    },
    { requiredKeys: [] },
  );

  /** At most one optional part of a record, usually none. */
  function oneOptional(parts: Record<string, fc.Arbitrary<unknown>>, noneWeight: number): fc.Arbitrary<Record<string, unknown>> {
    return fc.oneof(
      { weight: noneWeight, arbitrary: fc.constant({}) },
      ...Object.entries(parts).map(([key, arbitrary]) => ({ weight: 1, arbitrary: arbitrary.map((value) => ({ [key]: value })) })),
    );
  }

  const proxyService = fc
    .tuple(
      fc.record({ name: serviceName, port: mostly(fc.constantFrom(80, 80, 80, 443, 9000), fc.constantFrom(0, 70000, 8080)), weight: mostly(fc.constantFrom(1, 50, 100, 0), fc.constantFrom(-5, 4294967295, 4294967296)) }, { requiredKeys: ["name", "port"] }),
      oneOptional(
        {
          mirror: fc.boolean(),
          protocol: mostly(fc.constantFrom("h2", "h2c", "tls"), fc.constant("http/3")),
          requestHeadersPolicy: headersPolicy,
          responseHeadersPolicy: headersPolicy,
          validation: fc.record({ caSecret: mostly(fc.constant("ca"), fc.constantFrom("tls0", "nothing")), subjectName: mostly(fc.constant("a.example.com"), fc.constant("")) }),
        },
        4,
      ),
    )
    .map(([base, extra]) => ({ ...base, ...extra }));

  const routePolicies = {
    enableWebsockets: fc.boolean(),
    permitInsecure: fc.boolean(),
    timeoutPolicy: fc.record({ response: mostly(fc.constantFrom("30s", "infinity"), fc.constantFrom("-1", "x")), idle: mostly(fc.constantFrom("5m", "0s"), fc.constant("y")) }, { requiredKeys: [] }),
    retryPolicy: fc.record({ count: mostly(fc.constantFrom(3, 0), fc.constant(-1)), perTryTimeout: mostly(fc.constant("1s"), fc.constant("z")), retryOn: mostly(fc.constant(["5xx"]), fc.constant(["nonsense"])) }, { requiredKeys: [] }),
    loadBalancerPolicy: fc.record({ strategy: mostly(fc.constantFrom("Cookie", "RequestHash", "Random", "WeightedLeastRequest"), fc.constant("Bogus")), requestHashPolicies: fc.constant([{ headerHashOptions: { headerName: "x-u" } }, { hashSourceIP: true }]) }, { requiredKeys: ["strategy"] }),
    pathRewritePolicy: fc.record({ replacePrefix: fc.array(fc.record({ prefix: path, replacement: path }), { maxLength: 2 }) }),
    requestRedirectPolicy: fc.record({ scheme: mostly(fc.constant("https"), fc.constant("ftp")), hostname: host, port: mostly(fc.constant(443), fc.constantFrom(0, 99999)), statusCode: mostly(fc.constantFrom(301, 302), fc.constant(404)), path }, { requiredKeys: [] }),
    directResponsePolicy: fc.record({ statusCode: mostly(fc.constantFrom(200, 418), fc.constantFrom(99, 600)), body: oddText }),
    healthCheckPolicy: fc.record({ path, intervalSeconds: mostly(fc.constant(5), fc.constantFrom(0, -3)) }, { requiredKeys: ["path"] }),
    requestHeadersPolicy: headersPolicy,
    responseHeadersPolicy: headersPolicy,
    cookieRewritePolicies: fc.array(fc.record({ name: mostly(fc.constant("session"), fc.constantFrom("bad;name", "")), pathRewrite: fc.record({ value: oddText }), sameSite: mostly(fc.constant("Strict"), fc.constant("Weird")) }, { requiredKeys: ["name"] }), { maxLength: 1 }),
    internalRedirectPolicy: fc.record({ maxInternalRedirects: mostly(fc.constant(1), fc.constant(-1)), redirectResponseCodes: mostly(fc.constant([302]), fc.constant([200])), allowCrossSchemeRedirect: mostly(fc.constantFrom("Always", "SafeOnly"), fc.constant("Nope")) }, { requiredKeys: [] }),
    rateLimitPolicy: fc.record({ local: fc.record({ requests: mostly(fc.constant(5), fc.constantFrom(0, 4294967295)), unit: mostly(fc.constant("second"), fc.constant("fortnight")), burst: fc.constantFrom(0, 3), responseStatusCode: mostly(fc.constantFrom(429, 503), fc.constantFrom(200, 430, 99999)) }, { requiredKeys: ["requests", "unit"] }) }),
  };

  const routeArb = fc
    .tuple(fc.record({ conditions, services: fc.array(proxyService, { minLength: 1, maxLength: 2 }) }), oneOptional(routePolicies, 4))
    // A redirect or a direct response is the route's one action: it has no services.
    .map(([base, extra]) => ("requestRedirectPolicy" in extra || "directResponsePolicy" in extra ? { conditions: base.conditions, ...extra } : { ...base, ...extra }));

  const tlsArb = fc
    .tuple(
      fc.record({ secretName }),
      oneOptional(
        {
          passthrough: fc.boolean(),
          minimumProtocolVersion: mostly(fc.constantFrom("1.2", "1.3"), fc.constant("1.1")),
          clientValidation: fc.record(
            { caSecret: mostly(fc.constant("ca"), fc.constantFrom("tls0", "nothing")), crlSecret: mostly(fc.constant("crl"), fc.constant("nothing")), optionalClientCertificate: fc.boolean(), skipClientCertValidation: fc.boolean() },
            { requiredKeys: [] },
          ),
          enableFallbackCertificate: fc.boolean(),
        },
        2,
      ),
    )
    .map(([base, extra]) => ({ ...base, ...extra }));

  const virtualhost = fc
    .tuple(
      fc.record({ fqdn: host }),
      oneOptional(
        {
          tls: tlsArb,
          corsPolicy: fc.record(
            { allowOrigin: fc.array(mostly(fc.constantFrom("*", "https://a.example.com", "https://[a-z]+\\.example\\.com"), fc.oneof(fc.webUrl(), oddText)), { minLength: 1, maxLength: 2 }), allowMethods: mostly(fc.constant(["GET"]), fc.constant([])), maxAge: mostly(fc.constant("10m"), fc.constantFrom("-1s", "x")) },
            { requiredKeys: ["allowOrigin", "allowMethods"] },
          ),
          ipAllowPolicy: fc.array(fc.record({ cidr: mostly(fc.constantFrom("10.0.0.0/8", "::1"), fc.constantFrom("300.1.1.1", "1.2.3.4/40")), source: mostly(fc.constantFrom("Peer", "Remote"), fc.constant("Elsewhere")) }), { minLength: 1, maxLength: 2 }),
          rateLimitPolicy: fc.record({ local: fc.record({ requests: mostly(fc.constant(100), fc.constant(-1)), unit: fc.constantFrom("minute", "hour") }) }),
        },
        2,
      ),
    )
    .map(([base, extra]) => ({ ...base, ...extra }));

  // p0 is a root in each namespace, p1..p3 are children; includes mostly point at children.
  const includeArb = fc.record(
    { name: mostly(fc.constantFrom("p1", "p2", "p3"), fc.constantFrom("p0", "ghost")), namespace: fc.constantFrom(...namespaces), conditions: mostly(fc.array(condition.filter((c) => !("exact" in c) && !("regex" in c)), { maxLength: 2 }), conditions) },
    { requiredKeys: ["name"] },
  );
  const tcpproxy = mostly(
    fc.oneof(fc.record({ services: fc.array(proxyService, { minLength: 1, maxLength: 2 }) }), fc.record({ include: includeArb })),
    fc.record({ services: fc.array(proxyService, { maxLength: 2 }), include: includeArb }, { requiredKeys: [] }),
  );
  const rootSpec = fc.oneof(
    { weight: 4, arbitrary: fc.record({ virtualhost, includes: fc.array(includeArb, { minLength: 2, maxLength: 4 }), routes: fc.array(routeArb, { maxLength: 2 }) }, { requiredKeys: ["virtualhost", "includes"] }) },
    { weight: 1, arbitrary: fc.record({ virtualhost: virtualhost.map((vh: Record<string, unknown>) => ({ ...vh, tls: vh.tls ?? { secretName: "tls0" } })), tcpproxy: tcpproxy }) },
  );
  const childSpec = fc.oneof(
    { weight: 5, arbitrary: fc.record({ includes: fc.array(includeArb, { maxLength: 1 }), routes: fc.array(routeArb, { minLength: 1, maxLength: 3 }) }, { requiredKeys: ["routes"] }) },
    { weight: 1, arbitrary: fc.record({ tcpproxy: tcpproxy }) },
    { weight: 1, arbitrary: fc.record({ virtualhost, routes: fc.array(routeArb, { maxLength: 2 }) }) },
  );

  /** A root whose fqdn is mostly its own, so two roots rarely collide. */
  function withFqdn<T extends { virtualhost: Record<string, unknown> }>(spec: fc.Arbitrary<T>, fqdn: fc.Arbitrary<string>): fc.Arbitrary<T> {
    return fc.tuple(spec, fqdn).map(([root, name]) => ({ ...root, virtualhost: { ...root.virtualhost, fqdn: name } }));
  }

  const delegationArb = fc.record({ secretName: fc.constantFrom(...secretNames), targetNamespaces: fc.constantFrom(["team"], ["*"], []) });

  return fc.record({
    services: fc.record(Object.fromEntries(namespaces.flatMap((ns) => ["s0", "s1", "s2"].map((name) => [`${ns}/${name}`, fc.option(serviceSpec, { freq: 10, nil: undefined })])))),
    secrets: fc.record(Object.fromEntries(namespaces.flatMap((ns) => secretNames.slice(0, 4).map((name) => [`${ns}/${name}`, fc.option(fc.nat(), { freq: 5, nil: undefined })])))),
    delegations: fc.array(delegationArb, { maxLength: 2 }),
    ingresses: fc.array(ingressArb, { maxLength: 3 }),
    proxies: fc.record(Object.fromEntries(namespaces.flatMap((ns) => proxyNames.map((name) => [`${ns}/${name}`, name === "p0" ? fc.option<unknown>(withFqdn(rootSpec, mostly(fc.constant(`${ns}.example.com`), host)), { freq: 3, nil: undefined }) : fc.option<unknown>(childSpec, { freq: 3, nil: undefined })])))),
    rootNamespaces: mostly(fc.constant([]), fc.constant(["default"]), 3),
    enableExternalNameService: fc.boolean(),
  });
}

export const world = fc.oneof(worldArbitrary(1), worldArbitrary(8));

export type World = typeof world extends fc.Arbitrary<infer T> ? T : never;

function service(namespace: string, name: string, options: { ports: number[]; annotations: Record<string, string>; externalName?: string }): KubeObject {
  const ports = options.ports.map((p: number) => (p === 9000 ? { port: p, targetPort: p } : { name: p === 443 ? "https" : "http", port: p, targetPort: p + 8000 }));
  const spec: Record<string, unknown> = { ports };
  if (options.externalName !== undefined) Object.assign(spec, { type: "ExternalName", externalName: options.externalName });
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name, annotations: options.annotations }, spec };
}

interface ServiceSpec {
  ports: number[];
  annotations: Record<string, string>;
  externalName?: string;
  endpoints: Array<{ address: string; ready?: boolean; zone?: string }>;
}

function endpointSlice(namespace: string, name: string, svc: ServiceSpec): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace, name: `${name}-0`, labels: { "kubernetes.io/service-name": name } },
    addressType: svc.endpoints[0]?.address.includes(":") ? "IPv6" : "IPv4",
    ports: (svc.ports as number[]).map((p) => (p === 9000 ? { port: p } : { name: p === 443 ? "https" : "http", port: p + 8000 })),
    endpoints: svc.endpoints.map((e) => {
      const endpoint: Record<string, unknown> = { addresses: [e.address] };
      if (e.ready !== undefined) endpoint.conditions = { ready: e.ready };
      if (e.zone !== undefined) endpoint.zone = e.zone;
      return endpoint;
    }),
  } as KubeObject;
}

export function objectsOf(w: World): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [key, svc] of Object.entries(w.services)) {
    if (!svc) continue;
    const [namespace, name] = key.split("/") as [string, string];
    objects.push(service(namespace, name, svc));
    if (svc.externalName === undefined) objects.push(endpointSlice(namespace, name, svc));
  }
  for (const [key, pick] of Object.entries(w.secrets)) {
    if (pick === undefined) continue;
    const [namespace, name] = key.split("/") as [string, string];
    // tls0/tls1 are mostly the good pair, ca and crl their own kind; now and then any other body.
    const all = [...secretBodies.values()];
    const body = pick % 8 === 0 ? all[pick % all.length]! : secretBodies.get(name === "ca" ? "client-ca" : name === "crl" ? "client-crl" : "good")!;
    objects.push({ apiVersion: "v1", kind: "Secret", metadata: { namespace, name }, ...body });
  }
  if (w.delegations.length > 0) {
    objects.push({ apiVersion: "projectcontour.io/v1", kind: "TLSCertificateDelegation", metadata: { namespace: "default", name: "d" }, spec: { delegations: w.delegations } });
  }
  for (const i of w.ingresses) objects.push({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { namespace: i.namespace, name: i.name, annotations: i.annotations }, spec: i.spec });
  for (const [key, spec] of Object.entries(w.proxies)) {
    if (!spec) continue;
    const [namespace, name] = key.split("/") as [string, string];
    objects.push({ apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { namespace, name, generation: 1 }, spec });
  }
  return objects;
}


/** The DAG options one world is built with (the golden clock: the borrowed expired certificate is expired). */
export function dagOptionsOf(w: World): DagOptions {
  return { ingressClassNames: [], rootNamespaces: [...w.rootNamespaces], enableExternalNameService: w.enableExternalNameService, now: () => goldenNow };
}
