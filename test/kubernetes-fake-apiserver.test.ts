// The fake API server answers as kube-apiserver does, so tests built on it mean something:
// pagination with continue tokens (410 once compacted), selectors, list items without kind,
// watch from "0" (synthetic ADDED) and from a version (replay), the status subresource (PUT and
// merge PATCH, 409 on a stale resourceVersion, spec untouched), generation, auth, 404 groups.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { KubeApiError, createKubeClient, type KubeClient } from "../src/k8s/client.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import type { KubeObject } from "../src/sources/types.ts";

let api: FakeApiServer;
let client: KubeClient;

beforeAll(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
  client = createKubeClient(loadKubeConfig({ kubeconfig: api.kubeconfigPath }).kubeConfig);
  for (let i = 0; i < 5; i++) api.create({ apiVersion: "v1", kind: "Service", metadata: { name: `s${i}`, namespace: i < 3 ? "a" : "b", labels: { tier: i % 2 ? "odd" : "even" } }, spec: {} });
});

afterAll(async () => {
  client.close();
  await api.close();
});

type List = { kind: string; metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] };

async function failure(promise: Promise<unknown>): Promise<KubeApiError> {
  try {
    await promise;
  } catch (error) {
    return error as KubeApiError;
  }
  throw new Error("expected a failure");
}

async function watchLines(query: Record<string, string>, count: number): Promise<{ type: string; object: KubeObject }[]> {
  const lines: { type: string; object: KubeObject }[] = [];
  const controller = new AbortController();
  await client
    .stream("/api/v1/services", {
      query: { watch: "true", ...query },
      signal: controller.signal,
      onLines(values) {
        lines.push(...(values as typeof lines));
        if (lines.length >= count) controller.abort();
      },
    })
    .catch(() => undefined);
  return lines;
}

describe("fake API server", () => {
  test("lists page by page at one resourceVersion; items carry no kind; an expired continue token is 410", async () => {
    const first = await client.request<List>("GET", "/api/v1/services", { query: { limit: 2 } });
    expect(first.kind).toBe("ServiceList");
    expect(first.items.map((s) => s.metadata.name)).toEqual(["s0", "s1"]);
    expect(first.items[0]).not.toHaveProperty("kind");
    api.create({ apiVersion: "v1", kind: "Service", metadata: { name: "late", namespace: "a" }, spec: {} });
    const second = await client.request<List>("GET", "/api/v1/services", { query: { limit: 2, continue: first.metadata.continue } });
    // The snapshot taken at the first page: "late" is not in it.
    expect(second.items.map((s) => s.metadata.name)).toEqual(["s2", "s3"]);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    api.compact();
    const expired = await failure(client.request("GET", "/api/v1/services", { query: { limit: 2, continue: second.metadata.continue } }));
    expect([expired.statusCode, expired.reason]).toEqual([410, "Expired"]);
    api.delete("Service", "a", "late");
  });

  test("label and field selectors; an unsupported field is refused", async () => {
    const odd = await client.request<List>("GET", "/api/v1/services", { query: { labelSelector: "tier=odd" } });
    expect(odd.items.map((s) => s.metadata.name)).toEqual(["s1", "s3"]);
    const set = await client.request<List>("GET", "/api/v1/services", { query: { labelSelector: "tier in (even),tier!=odd", fieldSelector: "metadata.namespace=b" } });
    expect(set.items.map((s) => s.metadata.name)).toEqual(["s4"]);
    const refused = await failure(client.request("GET", "/api/v1/services", { query: { fieldSelector: "spec.type=ClusterIP" } }));
    expect(refused.statusCode).toBe(400);
  });

  test("watch from 0 starts with the current objects; from a version it replays what followed", async () => {
    const initial = await watchLines({ resourceVersion: "0", fieldSelector: "metadata.namespace=b" }, 2);
    expect(initial.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual(["ADDED s3", "ADDED s4"]);
    expect(initial[0]!.object.kind).toBe("Service");
    const from = String(api.store.resourceVersion());
    api.update({ ...api.get("Service", "b", "s3")!, spec: { ports: [{ port: 1 }] } });
    api.delete("Service", "b", "s4");
    const replay = await watchLines({ resourceVersion: from }, 2);
    expect(replay.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual(["MODIFIED s3", "DELETED s4"]);
    expect(Number(replay[1]!.object.metadata.resourceVersion)).toBeGreaterThan(Number(replay[0]!.object.metadata.resourceVersion));
  });

  test("status subresource: PUT and merge PATCH change status only, 409 on a stale resourceVersion; spec changes bump generation", async () => {
    const proxy = api.create({ apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { name: "p", namespace: "a" }, spec: { routes: [] } });
    const path = "/apis/projectcontour.io/v1/namespaces/a/httpproxies/p";
    const put = await client.request<KubeObject>("PUT", `${path}/status`, { body: { ...proxy, spec: { changed: true }, status: { currentStatus: "valid" } } });
    expect(put.spec).toEqual({ routes: [] });
    expect(put.status).toEqual({ currentStatus: "valid" });
    expect(put.metadata.generation).toBe(1);
    const stale = await failure(client.request("PUT", `${path}/status`, { body: { ...proxy, status: {} } }));
    expect(stale.statusCode).toBe(409);
    const conflict = await failure(
      client.request("PATCH", `${path}/status`, { body: { metadata: { resourceVersion: proxy.metadata.resourceVersion }, status: { currentStatus: "invalid" } }, contentType: "application/merge-patch+json" }),
    );
    expect([conflict.statusCode, conflict.reason]).toEqual([409, "Conflict"]);
    const patched = await client.request<KubeObject>("PATCH", `${path}/status`, { body: { status: { description: "ok" } }, contentType: "application/merge-patch+json" });
    expect(patched.status).toEqual({ currentStatus: "valid", description: "ok" });
    // A main-resource write keeps status and bumps generation on a spec change.
    const updated = await client.request<KubeObject>("PUT", path, { body: { ...patched, spec: { routes: [{}] }, status: {} } });
    expect(updated.status).toEqual({ currentStatus: "valid", description: "ok" });
    expect(updated.metadata.generation).toBe(2);
  });

  test("a wrong token is 401; a switched-off group is 404; a Lease is created once", async () => {
    const { kubeConfig } = loadKubeConfig({ kubeconfig: api.kubeconfigPath });
    kubeConfig.loadFromOptions({
      clusters: kubeConfig.getClusters(),
      contexts: kubeConfig.getContexts(),
      users: [{ name: "fake", token: "wrong" }],
      currentContext: kubeConfig.getCurrentContext(),
    });
    const stranger = createKubeClient(kubeConfig);
    expect((await failure(stranger.request("GET", "/api/v1/services"))).statusCode).toBe(401);
    stranger.close();
    api.setGroupInstalled("projectcontour.io", false);
    expect((await failure(client.request("GET", "/apis/projectcontour.io/v1/httpproxies"))).statusCode).toBe(404);
    api.setGroupInstalled("projectcontour.io", true);
    const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "l", namespace: "a" }, spec: { holderIdentity: "x" } };
    await client.request("POST", "/apis/coordination.k8s.io/v1/namespaces/a/leases", { body: lease });
    const again = await failure(client.request("POST", "/apis/coordination.k8s.io/v1/namespaces/a/leases", { body: lease }));
    expect([again.statusCode, again.reason]).toEqual([409, "AlreadyExists"]);
  });
});
