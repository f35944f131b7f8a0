// The agent side of the pipeline benchmarks (rebuild.ts, httpproxy.ts, gateway.ts), in its own process so its
// RSS and heap are its own. Two modes:
//   bun bench/pipeline-child.ts build '<spec>'  full rebuilds and encoding alone, one JSON result, exit
//   bun bench/pipeline-child.ts serve '<spec>'  the real agent (startAgent) fed by an in-memory source;
//                                               answers `change`, `memory` and `exit` commands (child.ts)
// spec: {"fixture": "ingress"|"httpproxy"|"gateway", "size": N, "runs": R, "holdoffMs": H}
import { consola, LogLevels } from "consola";
import type { KubeObject, SourceEvent } from "../src/sources/types.ts";
import type { SnapshotStore } from "../src/xds/snapshot.ts";
import { emit, serveCommands } from "./child.ts";
import { measureBuilds } from "./pipeline-measure.ts";
import * as fixtures from "./fixtures.ts";

export interface ChildSpec {
  fixture: fixtures.Fixture;
  /** Ingresses, or HTTPProxy namespaces (10 proxies each). */
  size: number;
  /** Warm runs (build mode). */
  runs?: number;
  holdoffMs?: number;
  /** Diagnostic: serve without the SDS-scoping node view startAgent installs (every stream then diffs only changed types). */
  withoutNodeView?: boolean;
}

export interface ChangeCommand {
  cmd: "change";
  kind: "ingress" | "slice" | "proxy" | "route";
  index: number;
  generation: number;
}

export function changedObject(spec: ChildSpec, change: Omit<ChangeCommand, "cmd">): KubeObject {
  if (spec.fixture === "ingress") {
    const namespaces = fixtures.ingressNamespaces({ ingresses: spec.size });
    return change.kind === "slice" ? fixtures.ingressEndpointSlice(change.index, { namespaces, generation: change.generation }) : fixtures.ingress(change.index, { namespaces, generation: change.generation });
  }
  if (change.kind === "slice") return fixtures.httpProxyEndpointSlice(change.index, change.generation);
  const at = { namespaces: spec.size, generation: change.generation };
  return spec.fixture === "gateway" ? fixtures.gatewayRoute(change.index, at) : fixtures.httpProxyLeaf(change.index, at);
}

const epochNow = () => performance.timeOrigin + performance.now();

async function serve(spec: ChildSpec): Promise<void> {
  const { startAgent } = await import("../src/agent/agent.ts");
  const { TypeUrls } = await import("../src/xds/types.ts");
  const { source, handler } = fixtures.memorySource(fixtures.generateCluster(spec.fixture, spec.size));
  const started = performance.now();
  const agent = await startAgent({ address: "127.0.0.1", port: 0, sources: [source], dag: fixtures.benchDagOptions, holdoffMs: spec.holdoffMs ?? 100, maxDelayMs: 500 });
  if (!agent.pipeline.ready) await new Promise<void>((resolve) => { const off = agent.pipeline.onBuild(() => (off(), resolve())); });
  const firstSnapshotMs = performance.now() - started;
  const marks = instrumentStore(agent.store);
  if (spec.withoutNodeView) agent.store.setNodeView(undefined as unknown as Parameters<SnapshotStore["setNodeView"]>[0]);

  serveCommands(async (command) => {
    switch (command.cmd) {
      case "change": {
        const change = command as unknown as ChangeCommand;
        const event: SourceEvent = { type: "upsert", object: changedObject(spec, change) };
        const done = new Promise<Record<string, unknown>>((resolve) => {
          if (change.kind === "slice") {
            const off = agent.pipeline.onEndpoints((e) => (off(), resolve({ publishedAt: epochNow(), changed: e.changed, ...marks })));
          } else {
            const off = agent.pipeline.onBuild((e) => (off(), resolve({ publishedAt: epochNow(), timings: e.result.timings, changedTypes: [...e.changedTypes], ...marks })));
          }
        });
        const appliedAt = epochNow();
        handler().onEvents([event]);
        return { event: "changed", appliedAt, ...(await done) };
      }
      case "memory": {
        const before = process.memoryUsage();
        Bun.gc(true);
        return { event: "memory", rss: before.rss, heapUsed: before.heapUsed, rssAfterGc: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024, streams: agent.server.streams() };
      }
      case "exit":
        await agent.close(100);
        process.exit(0);
    }
    return { event: "error", message: `unknown command ${String(command.cmd)}` };
  });
  const store = agent.store;
  emit({
    event: "ready",
    port: agent.server.port,
    firstSnapshotMs,
    rss: process.memoryUsage.rss(),
    maxRss: process.resourceUsage().maxRSS * 1024,
    buildTimings: agent.pipeline.lastBuild?.timings,
    edsNames: [...store.resources(TypeUrls.endpoint).keys()],
    routeNames: [...store.resources(TypeUrls.route).keys()],
    counts: Object.fromEntries([TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.virtualHost].map((url) => [url.slice(url.lastIndexOf(".") + 1), store.resources(url).size])),
  });
}

/**
 * Times the store's publish and updateEndpoints from outside: start, the moment the new state is
 * committed (a listener registered before any xDS stream's, so it runs first), and the end, after
 * every stream's listener has diffed and written its response (synchronous in the store's commit).
 */
export function instrumentStore(store: SnapshotStore): { startAt: number; committedAt: number; endAt: number } {
  const marks = { startAt: 0, committedAt: 0, endAt: 0 };
  store.subscribe(() => (marks.committedAt = epochNow()));
  for (const method of ["publish", "updateEndpoints"] as const) {
    const original = store[method].bind(store) as (...args: unknown[]) => unknown;
    (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      marks.startAt = epochNow();
      try {
        return original(...args);
      } finally {
        marks.endAt = epochNow();
      }
    };
  }
  return marks;
}

if (import.meta.main) {
  consola.level = LogLevels.warn;
  const [mode, specText] = process.argv.slice(2);
  const spec = JSON.parse(specText ?? "{}") as ChildSpec;
  if (mode === "build") {
    // The build-mode change: one Ingress, HTTPProxy leaf or HTTPRoute at a new generation.
    const kind = ({ ingress: "ingress", httpproxy: "proxy", gateway: "route" } as const)[spec.fixture];
    const objects = spec.fixture === "gateway" ? spec.size * fixtures.gatewayRoutesPerNamespace : spec.size;
    const edit = (i: number): SourceEvent => ({ type: "upsert", object: changedObject(spec, { kind, index: (i * 7919) % objects, generation: 100 + i }) });
    emit({ event: "done", ...(await measureBuilds(spec, edit)) });
    process.exit(0);
  } else if (mode === "serve") await serve(spec);
  else throw new Error(`unknown mode ${mode}: want build or serve`);
}
