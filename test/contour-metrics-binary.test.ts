// Contour's metric names from the compiled binary's /metrics: a dashboard built on Contour's
// `contour_httpproxy*`, `contour_dagrebuild_*` and `contour_dag_cache_object` series reads the same
// numbers from isobar, with Contour's labels, and they follow the objects as files change.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, startServe, type RunningBinary } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const dir = mkdtempSync(join(tmpdir(), "contour-metrics-"));
let agent: RunningBinary & { port: number };
let metricsUrl: string;

const service = (namespace: string) => `apiVersion: v1
kind: Service
metadata: { name: web, namespace: ${namespace} }
spec: { ports: [{ name: http, port: 80 }] }
`;
const proxy = (namespace: string, name: string, body: string) => `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}`;

/** One sample's value from Prometheus text; undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.keys(have).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

const typeOf = (text: string, name: string) => new RegExp(`^# TYPE ${name} (\\w+)$`, "m").exec(text)?.[1];
const scrape = () => fetch(metricsUrl).then((r) => r.text());

/** Scrapes until `done` holds (the agent rebuilds after its holdoff; no fixed wait). */
async function scrapeUntil(done: (text: string) => boolean): Promise<string> {
  for (;;) {
    const text = await scrape();
    if (done(text)) return text;
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  writeFileSync(join(dir, "services.yaml"), `${service("shop")}---\n${service("blog")}`);
  // shop: a valid root including a valid child, and an HTTPProxy nobody includes (orphaned).
  writeFileSync(join(dir, "shop.yaml"), `${proxy("shop", "shop", "  virtualhost: { fqdn: shop.example.com }\n  includes: [{ name: cart }]\n  routes: [{ services: [{ name: web, port: 80 }] }]\n")}---\n${proxy("shop", "cart", "  routes: [{ conditions: [{ prefix: /cart }], services: [{ name: web, port: 80 }] }]\n")}`);
  writeFileSync(join(dir, "lonely.yaml"), proxy("shop", "lonely", "  routes: [{ services: [{ name: web, port: 80 }] }]\n"));
  // blog: two roots claiming one fqdn, both invalid (Contour's DuplicateVhost).
  writeFileSync(join(dir, "blog.yaml"), ["blog-a", "blog-b"].map((name) => proxy("blog", name, "  virtualhost: { fqdn: blog.example.com }\n  routes: [{ services: [{ name: web, port: 80 }] }]\n")).join("---\n"));
  await ensureAgentBinary();
  agent = await startServe(["--manifests", dir, "--holdoff", "20ms"]);
  const port = (await agent.waitForLine(/metrics and health on http:\/\/127\.0\.0\.1:(\d+)/))[1];
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await agent.waitForLine(/first snapshot published/);
}, 60_000);

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
  rmSync(dir, { recursive: true, force: true });
});

describe("contour_* series on /metrics of dist/agent serve", () => {
  test("HTTPProxies by namespace, status and vhost, with Contour's labels and types", async () => {
    const text = await scrape();
    expect(sample(text, "contour_httpproxy", { namespace: "shop" })).toBe(3);
    expect(sample(text, "contour_httpproxy", { namespace: "blog" })).toBe(2);
    expect(sample(text, "contour_httpproxy_root", { namespace: "shop" })).toBe(1);
    expect(sample(text, "contour_httpproxy_root", { namespace: "blog" })).toBe(2);
    expect(sample(text, "contour_httpproxy_valid", { namespace: "shop", vhost: "shop.example.com" })).toBe(1);
    expect(sample(text, "contour_httpproxy_valid", { namespace: "shop", vhost: "" })).toBe(1);
    expect(sample(text, "contour_httpproxy_invalid", { namespace: "blog", vhost: "blog.example.com" })).toBe(2);
    expect(sample(text, "contour_httpproxy_orphaned", { namespace: "shop" })).toBe(1);
    expect(sample(text, "contour_httpproxy_orphaned", { namespace: "blog" })).toBeUndefined();
    for (const name of ["contour_httpproxy", "contour_httpproxy_root", "contour_httpproxy_valid", "contour_httpproxy_invalid", "contour_httpproxy_orphaned", "contour_dag_cache_object", "contour_dagrebuild_timestamp", "contour_build_info"]) expect(typeOf(text, name)).toBe("gauge");
    expect(typeOf(text, "contour_dagrebuild_total")).toBe("counter");
    expect(typeOf(text, "contour_dagrebuild_seconds")).toBe("summary");
    expect(typeOf(text, "contour_cachehandler_onupdate_duration_seconds")).toBe("summary");
    // isobar's own series are still there beside them.
    expect(sample(text, "isobar_objects", { kind: "HTTPProxy", status: "invalid" })).toBe(2);
  });

  test("the DAG cache's objects by kind, rebuilds counted and timestamped", async () => {
    const text = await scrape();
    expect(sample(text, "contour_dag_cache_object", { kind: "HTTPProxy" })).toBe(5);
    expect(sample(text, "contour_dag_cache_object", { kind: "Service" })).toBe(2);
    expect(sample(text, "contour_dag_cache_object", { kind: "Ingress" })).toBe(0);
    expect(sample(text, "contour_dag_cache_object", { kind: "EndpointSlice" })).toBeUndefined();
    expect(sample(text, "contour_dagrebuild_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "contour_dagrebuild_seconds_count")).toBe(sample(text, "contour_dagrebuild_total"));
    expect(sample(text, "contour_dagrebuild_seconds", { quantile: "0.99" })).toBeGreaterThanOrEqual(0);
    const timestamp = sample(text, "contour_dagrebuild_timestamp")!;
    expect(Number.isInteger(timestamp)).toBe(true);
    expect(Math.abs(timestamp - Date.now() / 1000)).toBeLessThan(3600);
  });

  test("a file removed and one changed: the counts follow, a vanished series is gone, the rebuild is counted", async () => {
    const before = await scrape();
    const rebuilds = sample(before, "contour_dagrebuild_total")!;
    unlinkSync(join(dir, "lonely.yaml"));
    // blog-b moves to its own fqdn: no more duplicate, both valid.
    writeFileSync(join(dir, "blog.yaml"), ["a", "b"].map((name) => proxy("blog", `blog-${name}`, `  virtualhost: { fqdn: ${name}.blog.example.com }\n  routes: [{ services: [{ name: web, port: 80 }] }]\n`)).join("---\n"));
    const after = await scrapeUntil((text) => sample(text, "contour_httpproxy_valid", { namespace: "blog", vhost: "b.blog.example.com" }) === 1 && sample(text, "contour_dag_cache_object", { kind: "HTTPProxy" }) === 4);
    expect(sample(after, "contour_httpproxy_valid", { namespace: "blog", vhost: "a.blog.example.com" })).toBe(1);
    expect(sample(after, "contour_httpproxy_invalid", { namespace: "blog", vhost: "blog.example.com" })).toBeUndefined();
    expect(sample(after, "contour_httpproxy_orphaned", { namespace: "shop" })).toBeUndefined();
    expect(sample(after, "contour_httpproxy", { namespace: "shop" })).toBe(2);
    expect(sample(after, "contour_dagrebuild_total")!).toBeGreaterThan(rebuilds);
  });
});
