// Differential fuzz, Envoy as the judge: random worlds of Ingresses, HTTPProxies, Services,
// EndpointSlices and Secrets (the translation fuzz's generator) and random HTTPProxy trees (the
// HTTPProxy property tests' generator) go through the agent's build and validator and are served, one
// after the other, to one real Envoy 1.40 over delta ADS. Whatever the validator let through, Envoy
// must accept: a NACK here is a validator (or translator) gap. ENVOY_FUZZ_RUNS sets the count of
// each (CI: the default; by hand: 5000 each or more), ENVOY_FUZZ_SEED replays a run.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { proxy } from "../../src/dag/httpproxy-testing.ts";
import type { DagOptions } from "../../src/dag/processor.ts";
import { selfSignedCertificate, testOptions, type TestCertificate } from "../../src/dag/testing.ts";
import { buildResources } from "../../src/pipeline/build.ts";
import type { KubeObject } from "../../src/sources/types.ts";
import { createObjectCache } from "../../src/pipeline/cache.ts";
import { TypeUrls } from "../../src/xds/types.ts";
import { validateResource } from "../../src/xds/validate.ts";
import { buildGolden } from "../helpers/golden-build.ts";
import { proxies, world as proxyWorld } from "../helpers/httpproxy-arbitrary.ts";
import { dagOptionsOf, loadSecretBodies, objectsOf, world, type World } from "../helpers/fuzz-world.ts";
import { startEnvoyJudge, type EnvoyJudge } from "./judge.ts";

const runs = Number(process.env.ENVOY_FUZZ_RUNS ?? 200);
const seed = process.env.ENVOY_FUZZ_SEED ? Number(process.env.ENVOY_FUZZ_SEED) : undefined;
let judge: EnvoyJudge;
let cert: TestCertificate;

beforeAll(async () => {
  await loadSecretBodies();
  cert = await selfSignedCertificate("x.example.com");
  judge = await startEnvoyJudge();
}, 60_000);

afterAll(async () => {
  await judge?.stop();
});

/** Builds the objects as `agent serve` does and serves the result: Envoy must NACK nothing. */
async function judged(objects: KubeObject[], dag: DagOptions): Promise<void> {
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll(objects.map((object) => ({ type: "upsert" as const, object })));
  const result = buildResources(cache, { dag: { ...dag, listeners: judge.listeners }, translate: judge.translate });
  const nacks = await judge.load(result.resources);
  expect(nacks.map((nack) => `${nack.typeUrl.split(".").pop()} [${nack.resourceNames.join(", ")}]: ${nack.errorDetail.message}`)).toEqual([]);
}

describe("differential fuzz against a real Envoy", () => {
  const timeout = Math.max(120_000, runs * 1_000);
  test(`${runs} random worlds of Ingresses, HTTPProxies, Services and Secrets: Envoy NACKs nothing the validator let through`, async () => {
    await fc.assert(fc.asyncProperty(world, (w: World) => judged(objectsOf(w), dagOptionsOf(w))), { numRuns: runs, includeErrorInReport: true, seed });
  }, timeout);

  test(`${runs} random HTTPProxy trees: Envoy NACKs nothing the validator let through`, async () => {
    const property = fc.asyncProperty(proxies, fc.boolean(), (generated, restrictRoots) =>
      judged([...generated.map((p) => proxy(p.namespace, p.name, p.spec)), ...proxyWorld(cert)], testOptions({ rootNamespaces: restrictRoots ? ["a", "b"] : [], enableExternalNameService: true })),
    );
    await fc.assert(property, { numRuns: runs, includeErrorInReport: true, seed });
  }, timeout);
});

describe("the validator's Envoy rules are Envoy's (src/xds/validate-envoy.ts)", () => {
  // Each mutation of a valid route config is refused by the validator; served anyway (the judge's
  // store does not validate), a real Envoy NACKs it with the message the validator gives.
  const mutations: Array<[string, (route: Record<string, any>, vhost: Record<string, any>) => void]> = [
    ["a route removing Host", (route) => (route.request_headers_to_remove = ["host"])],
    ["a virtual host removing :status", (_route, vhost) => (vhost.response_headers_to_remove = [":status"])],
    ["a route adding Host", (route) => (route.request_headers_to_add = [{ header: { key: "Host", value: "x" } }])],
    ["a direct response body over 4096 bytes", (route) => ((route.direct_response = { status: 200, body: { inline_string: "%".repeat(8200) } }), delete route.route)],
  ];
  test("a CRL without a CA (client validation skipped)", async () => {
    const { result } = await buildGolden("httpproxy-tls-client-validation", judge);
    const good = result.resources;
    const listeners = structuredClone(good.listeners) as Array<Record<string, any>>;
    const https = listeners.find((l) => l.name === "ingress_https")!;
    // The CRL travels joined with its CA in one SDS secret ("ns/ca/hash+ns/crl/hash"): its CRL is written inline without the CA.
    const joinedName = (c: Record<string, any>) => c.transport_socket?.typed_config?.common_tls_context?.combined_validation_context?.validation_context_sds_secret_config?.name;
    const chain = https.filter_chains.find((c: Record<string, any>) => String(joinedName(c) ?? "").includes("+"));
    const joined = good.secrets.find((s) => (s as { name: string }).name === joinedName(chain)) as Record<string, any>;
    const common = chain.transport_socket.typed_config.common_tls_context;
    common.validation_context = { ...common.combined_validation_context.default_validation_context, crl: joined.validation_context.crl, trust_chain_verification: "ACCEPT_UNTRUSTED" };
    delete common.combined_validation_context;
    const errors = validateResource(TypeUrls.listener, https);
    expect(errors.length).toBe(1);
    const nacks = await judge.load({ ...good, listeners });
    expect(nacks.map((nack) => nack.errorDetail.message).join("\n")).toContain(errors[0]!.message);
    expect(await judge.load(good)).toEqual([]);
  });

  for (const [what, mutate] of mutations) {
    test(what, async () => {
      const { result } = await buildGolden("ingress-basic", judge);
      const good = result.resources;
      const routes = structuredClone(good.routes) as Array<Record<string, any>>;
      const vhost = routes[0]!.virtual_hosts[0];
      mutate(vhost.routes[0], vhost);
      const errors = validateResource(TypeUrls.route, routes[0]!);
      expect(errors.length).toBe(1);
      const nacks = await judge.load({ ...good, routes });
      expect(nacks.map((nack) => nack.errorDetail.message).join("\n")).toContain(errors[0]!.message);
      expect(await judge.load(good)).toEqual([]);
    });
  }
});
