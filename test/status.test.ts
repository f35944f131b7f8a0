// The status writer against the fake API server: Contour's HTTPProxy status shape and Ingress
// load balancer status, written once per real change (counted in the request log), skipped when
// unchanged, retried on conflict, and only while leading.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { createStatusWriter, parseStatusAddresses, type StatusWriter } from "../src/status/status.ts";
import { startStatusReporting } from "../src/status/reporting.ts";
import { createKubeClient, type KubeClient } from "../src/k8s/client.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import { StatusRecorder, type ObjectRef } from "../src/dag/status.ts";
import type { KubeObject } from "../src/sources/types.ts";

const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {} } as never;
let api: FakeApiServer;
let client: KubeClient;
let writer: StatusWriter | undefined;

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
  client = createKubeClient(loadKubeConfig({ kubeconfig: api.kubeconfigPath }).kubeConfig);
});

afterEach(async () => {
  await writer?.stop();
  writer = undefined;
  client.close();
  await api.close();
});

function proxy(name: string, root = true): KubeObject {
  return {
    apiVersion: "projectcontour.io/v1",
    kind: "HTTPProxy",
    metadata: { name, namespace: "default" },
    spec: root ? { virtualhost: { fqdn: `${name}.example.com` }, routes: [] } : { routes: [] },
  };
}

const ref = (kind: string, name: string): ObjectRef => ({ kind, namespace: "default", name });
const fromServer = (r: ObjectRef) => api.get(r.kind, r.namespace, r.name);
const statusWrites = () => api.requests.filter((r) => r.verb === "patch" && r.subresource === "status");

function verdicts(build: (recorder: StatusRecorder) => void) {
  const recorder = new StatusRecorder();
  build(recorder);
  return recorder.all();
}

function track(recorder: StatusRecorder, kind: string, name: string) {
  recorder.track(ref(kind, name), api.get(kind, "default", name)?.metadata.generation);
}

describe("status writer", () => {
  test("HTTPProxy: Contour's shape, written once; unchanged verdicts are not rewritten, even from a stale cache", async () => {
    api.create(proxy("root"));
    api.create(proxy("child", false));
    const stale = { root: api.get("HTTPProxy", "default", "root")!, child: api.get("HTTPProxy", "default", "child")! };
    writer = createStatusWriter({ client, isLeader: () => true, loadBalancer: { ip: "192.0.2.10" }, logger: quiet, now: () => new Date("2026-01-02T03:04:05.678Z") });
    const judge = (r: StatusRecorder) => {
      track(r, "HTTPProxy", "root");
      track(r, "HTTPProxy", "child");
      r.warning(ref("HTTPProxy", "root"), { type: "RouteError", reason: "SlowTimeout", message: "timeout is long" });
      r.orphaned(ref("HTTPProxy", "child"), "this HTTPProxy is not part of a delegation chain from a root HTTPProxy");
    };
    const statuses = verdicts(judge);
    writer.update(statuses, fromServer);
    await writer.idle();
    expect(statusWrites()).toHaveLength(2);
    expect(statusWrites().every((r) => r.contentType === "application/merge-patch+json" && r.status === 200)).toBe(true);
    expect(api.get("HTTPProxy", "default", "root")!.status).toEqual({
      currentStatus: "valid",
      description: "Valid HTTPProxy",
      loadBalancer: { ingress: [{ ip: "192.0.2.10" }] },
      conditions: [
        {
          type: "Valid",
          status: "True",
          observedGeneration: 1,
          lastTransitionTime: "2026-01-02T03:04:05Z",
          reason: "Valid",
          message: "Valid HTTPProxy",
          warnings: [{ type: "RouteError", status: "True", reason: "SlowTimeout", message: "timeout is long" }],
        },
      ],
    });
    expect(api.get("HTTPProxy", "default", "child")!.status).toMatchObject({
      currentStatus: "orphaned",
      conditions: [{ type: "Valid", status: "False", reason: "Orphaned", errors: [{ type: "Orphaned", status: "True", reason: "Orphaned" }] }],
    });
    expect(api.get("HTTPProxy", "default", "child")!.status).not.toHaveProperty("loadBalancer");

    // Same verdicts (equal, made anew): from the updated objects, and from a cache that has not seen the writes yet.
    writer.update(verdicts(judge), fromServer);
    await writer.idle();
    writer.update(verdicts(judge), (r) => stale[r.name as "root" | "child"]);
    await writer.idle();
    expect(statusWrites()).toHaveLength(2);
    expect(writer.stats()).toMatchObject({ written: 2, conflicts: 0, failed: 0 });
  });

  test("the very status objects last found written are not looked at again (an incremental build hands them on); a new one is, and resync looks at all", async () => {
    for (const name of ["a", "b", "c"]) api.create(proxy(name));
    writer = createStatusWriter({ client, isLeader: () => true, logger: quiet, now: () => new Date("2026-01-02T03:04:05Z") });
    const first = verdicts((r) => ["a", "b", "c"].forEach((name) => track(r, "HTTPProxy", name)));
    let looked = 0;
    const lookup = (r: ObjectRef) => (looked++, fromServer(r));
    writer.update(first, lookup);
    await writer.idle();
    expect([looked, statusWrites().length]).toEqual([3, 3]);
    // b's verdict is a new object (its unit was rebuilt) with a warning; a and c are the same objects.
    const b = new StatusRecorder();
    track(b, "HTTPProxy", "b");
    b.warning(ref("HTTPProxy", "b"), { type: "RouteError", reason: "SlowTimeout", message: "timeout is long" });
    writer.update([first[0]!, ...b.all(), first[2]!], lookup);
    await writer.idle();
    expect([looked, statusWrites().length]).toEqual([4, 4]);
    expect(writer.stats()).toMatchObject({ written: 4, unchanged: 2 });
    writer.resync(lookup);
    await writer.idle();
    expect([looked, statusWrites().length]).toEqual([7, 4]);
  });

  test("an update with the changed statuses looks only at those (the whole list is not read); a status gone is forgotten", async () => {
    for (const name of ["a", "b", "c"]) api.create(proxy(name));
    writer = createStatusWriter({ client, isLeader: () => true, logger: quiet, now: () => new Date("2026-01-02T03:04:05Z") });
    const first = verdicts((r) => ["a", "b", "c"].forEach((name) => track(r, "HTTPProxy", name)));
    let looked = 0;
    const lookup = (r: ObjectRef) => (looked++, fromServer(r));
    writer.update(first, lookup);
    await writer.idle();
    expect([looked, statusWrites().length]).toEqual([3, 3]);
    const b = new StatusRecorder();
    track(b, "HTTPProxy", "b");
    b.warning(ref("HTTPProxy", "b"), { type: "RouteError", reason: "SlowTimeout", message: "timeout is long" });
    const next = [first[0]!, ...b.all()];
    let read = 0;
    writer.update(() => (read++, next), lookup, new Map([["HTTPProxy default/b", b.all()[0]], ["HTTPProxy default/c", undefined]]));
    await writer.idle();
    expect([looked, statusWrites().length, read]).toEqual([4, 4, 0]);
    // resync reads the whole last list: a and b, not c.
    writer.resync(lookup);
    await writer.idle();
    expect([looked, read]).toEqual([6, 1]);
  });

  test("a real change is written once, stamped with the new generation; lastTransitionTime moves only when the condition flips", async () => {
    api.create(proxy("root"));
    let clock = new Date("2026-01-01T00:00:00Z");
    writer = createStatusWriter({ client, isLeader: () => true, logger: quiet, now: () => clock });
    writer.update(verdicts((r) => track(r, "HTTPProxy", "root")), fromServer);
    await writer.idle();
    api.update({ ...api.get("HTTPProxy", "default", "root")!, spec: { virtualhost: { fqdn: "x.example.com" }, routes: [{}] } });
    clock = new Date("2026-01-01T01:00:00Z");
    const invalid = verdicts((r) => {
      track(r, "HTTPProxy", "root");
      r.error(ref("HTTPProxy", "root"), { type: "RouteError", reason: "NoServices", message: "route has no services" });
    });
    writer.update(invalid, fromServer);
    await writer.idle();
    writer.update(invalid, fromServer);
    await writer.idle();
    expect(statusWrites()).toHaveLength(2);
    const condition = (api.get("HTTPProxy", "default", "root")!.status as { conditions: Record<string, unknown>[] }).conditions[0]!;
    expect(condition).toMatchObject({ status: "False", reason: "ErrorPresent", observedGeneration: 2, lastTransitionTime: "2026-01-01T01:00:00Z" });
    expect(condition.errors).toEqual([{ type: "RouteError", status: "True", reason: "NoServices", message: "route has no services" }]);
    // Still invalid, another message: rewritten, but the transition time stays.
    clock = new Date("2026-01-01T02:00:00Z");
    writer.update(
      verdicts((r) => {
        track(r, "HTTPProxy", "root");
        r.error(ref("HTTPProxy", "root"), { type: "RouteError", reason: "NoServices", message: "route 2 has no services" });
      }),
      fromServer,
    );
    await writer.idle();
    expect(statusWrites()).toHaveLength(3);
    expect((api.get("HTTPProxy", "default", "root")!.status as { conditions: Record<string, unknown>[] }).conditions[0]!.lastTransitionTime).toBe("2026-01-01T01:00:00Z");
  });

  test("Ingress: status.loadBalancer.ingress from the address; nothing written while the address is unknown", async () => {
    api.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "default" }, spec: {} });
    let address: { hostname?: string } | undefined;
    writer = createStatusWriter({ client, isLeader: () => true, loadBalancer: () => address, logger: quiet });
    const statuses = verdicts((r) => track(r, "Ingress", "web"));
    writer.update(statuses, fromServer);
    await writer.idle();
    expect(statusWrites()).toHaveLength(0);
    address = { hostname: "lb.example.com" };
    writer.resync();
    await writer.idle();
    expect(statusWrites()).toHaveLength(1);
    expect(statusWrites()[0]!.path).toBe("/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status");
    expect(api.get("Ingress", "default", "web")!.status).toEqual({ loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } });
  });

  test("a conflict (the object changed since the cache saw it) is re-read and retried", async () => {
    api.create(proxy("root"));
    const cached = api.get("HTTPProxy", "default", "root")!;
    api.update({ ...cached, metadata: { ...cached.metadata, labels: { changed: "yes" } } });
    writer = createStatusWriter({ client, isLeader: () => true, logger: quiet });
    writer.update(
      verdicts((r) => track(r, "HTTPProxy", "root")),
      () => cached,
    );
    await writer.idle();
    const trail = api.requests.filter((r) => r.plural === "httpproxies").map((r) => `${r.verb} ${r.status}`);
    expect(trail).toEqual(["patch 409", "get 200", "patch 200"]);
    expect(writer.stats()).toMatchObject({ written: 1, conflicts: 1 });
    expect(api.get("HTTPProxy", "default", "root")!.status).toMatchObject({ currentStatus: "valid" });
  });

  test("where PATCH is forbidden (Contour's ClusterRole grants update only), status is an update of the object as the server holds it", async () => {
    api.create(proxy("root"));
    api.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "default", annotations: { keep: "me" } }, spec: {} });
    // The cache's copy is slimmed: an update must not carry it (it would lose what slimming dropped).
    const slimmed = (r: ObjectRef) => {
      const object = structuredClone(fromServer(r)!);
      delete (object.metadata as { annotations?: unknown }).annotations;
      return object;
    };
    for (const plural of ["httpproxies", "ingresses"]) api.injectFault({ verb: "patch", plural, fault: { type: "http", status: 403 }, times: 100 });
    writer = createStatusWriter({ client, isLeader: () => true, loadBalancer: { ip: "192.0.2.10" }, logger: quiet, concurrency: 1 });
    const statuses = verdicts((r) => {
      track(r, "HTTPProxy", "root");
      track(r, "Ingress", "web");
    });
    writer.update(statuses, slimmed);
    await writer.idle();
    const trail = api.requests.filter((r) => r.plural === "httpproxies" || r.plural === "ingresses").map((r) => `${r.verb} ${r.plural} ${r.status}`);
    // One PATCH is refused; from then on every write reads the object and updates it.
    expect(trail).toEqual(["patch httpproxies 403", "get httpproxies 200", "update httpproxies 200", "get ingresses 200", "update ingresses 200"]);
    expect(writer.stats()).toMatchObject({ written: 2, failed: 0 });
    expect(api.get("HTTPProxy", "default", "root")!.status).toMatchObject({ currentStatus: "valid", loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } });
    expect(api.get("Ingress", "default", "web")!.status).toEqual({ loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } });
    const ingressUpdate = api.requests.find((r) => r.verb === "update" && r.plural === "ingresses")!;
    expect((ingressUpdate.body as KubeObject).metadata.annotations).toEqual({ keep: "me" });
  });

  test("not leading: nothing written; on becoming leader resync() writes; losing the lease drops the queue at once", async () => {
    for (let i = 0; i < 10; i++) api.create(proxy(`p${i}`));
    let leading = false;
    writer = createStatusWriter({ client, isLeader: () => leading, logger: quiet, concurrency: 1 });
    const statuses = verdicts((r) => {
      for (let i = 0; i < 10; i++) track(r, "HTTPProxy", `p${i}`);
    });
    writer.update(statuses, fromServer);
    await writer.idle();
    expect(statusWrites()).toHaveLength(0);

    leading = true;
    const first = api.waitForRequest((r) => r.verb === "patch");
    writer.resync();
    await first;
    leading = false; // lost while the first write is in flight
    await writer.idle();
    expect(statusWrites()).toHaveLength(1);
    expect(writer.stats()).toMatchObject({ written: 1, dropped: 9 });
  });

  test("many objects: each written exactly once, with bounded concurrency", async () => {
    for (let i = 0; i < 60; i++) api.create(proxy(`p${i}`));
    let inFlight = 0;
    let most = 0;
    const counting: KubeClient = {
      ...client,
      async request(method, path, options) {
        most = Math.max(most, ++inFlight);
        try {
          return await client.request(method, path, options);
        } finally {
          inFlight--;
        }
      },
    };
    writer = createStatusWriter({ client: counting, isLeader: () => true, logger: quiet, concurrency: 8 });
    writer.update(
      verdicts((r) => {
        for (let i = 0; i < 60; i++) track(r, "HTTPProxy", `p${i}`);
      }),
      fromServer,
    );
    await writer.idle();
    const paths = statusWrites().map((r) => r.path);
    expect(new Set(paths).size).toBe(60);
    expect(paths).toHaveLength(60);
    expect(writer.stats()).toMatchObject({ written: 60, failed: 0 });
    expect(most).toBe(8);
  });

  test("--ingress-status-address: IPs and hostnames, comma-separated", () => {
    expect(parseStatusAddresses("192.0.2.1, lb.example.com,2001:db8::1")).toEqual([{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }, { ip: "2001:db8::1" }]);
  });

  test("reporting started after the pipeline's first build writes that build's statuses", async () => {
    api.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "early", namespace: "default" }, spec: {} });
    const pipeline = { onBuild: () => () => undefined, lastBuild: { statuses: verdicts((r) => track(r, "Ingress", "early")) } };
    const cache = { ingresses: () => api.list("Ingress"), httpProxies: () => [] };
    const written = api.waitForRequest((r) => r.verb === "patch" && r.subresource === "status");
    const reporting = startStatusReporting({ client, pipeline, cache, loadBalancer: parseStatusAddresses("192.0.2.9"), leaderElection: false, logger: quiet });
    try {
      await written;
      await reporting.writer.idle();
      expect(api.get("Ingress", "default", "early")!.status).toEqual({ loadBalancer: { ingress: [{ ip: "192.0.2.9" }] } });
    } finally {
      await reporting.stop();
    }
  });

  test("reporting: every build's statuses are written, with the Envoy Service's address, re-sent when it changes", async () => {
    api.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "default" }, spec: {} });
    const envoy: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "envoy", namespace: "isobar-system" }, spec: { type: "LoadBalancer", ports: [{ port: 80 }] } };
    api.create(envoy);
    const listeners = new Set<(event: { result: { statuses: ReturnType<StatusRecorder["all"]> } }) => void>();
    const pipeline = { onBuild: (listener: (event: { result: { statuses: ReturnType<StatusRecorder["all"]> } }) => void) => (listeners.add(listener), () => listeners.delete(listener)) };
    const cache = { ingresses: () => api.list("Ingress"), httpProxies: () => [] };
    const reporting = startStatusReporting({ client, pipeline, cache, envoyService: { namespace: "isobar-system", name: "envoy" }, leaderElection: false, logger: quiet });
    try {
      for (const listener of listeners) listener({ result: { statuses: verdicts((r) => track(r, "Ingress", "web")) } });
      await reporting.writer.idle();
      expect(statusWrites()).toHaveLength(0); // no address yet
      const addressed = api.waitForRequest((r) => r.verb === "patch" && r.subresource === "status");
      api.setStatus("Service", "isobar-system", "envoy", { loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } });
      await addressed;
      await reporting.writer.idle();
      expect(api.get("Ingress", "default", "web")!.status).toEqual({ loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } });
      const moved = api.waitForRequest((r) => r.verb === "patch" && r.subresource === "status");
      api.setStatus("Service", "isobar-system", "envoy", { loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } });
      await moved;
      await reporting.writer.idle();
      expect(api.get("Ingress", "default", "web")!.status).toEqual({ loadBalancer: { ingress: [{ hostname: "lb.example.com" }] } });
      // Each written once, against the object as it is now (no conflict on a stale version).
      expect(statusWrites().map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await reporting.stop();
    }
  });
});
