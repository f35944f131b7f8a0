// Informer metrics from the Kubernetes source against the fake API server: a watch that fails with
// HTTP 410 counts one restart and one re-list for its kind, in the counters `agent serve` gives the
// source (src/agent/kubernetes.ts).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { defaultMetrics, informerCounters } from "../src/observe/metrics.ts";
import { createKubernetesSource } from "../src/sources/kubernetes.ts";
import type { Source } from "../src/sources/types.ts";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { createRecorder } from "./fake-apiserver/recorder.ts";

const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {} } as never;
let api: FakeApiServer;
let source: Source;

beforeAll(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});
afterAll(async () => {
  await source?.stop();
  await api.close();
});

async function counter(name: string, kind: string): Promise<number> {
  const metric = defaultMetrics().registry.getSingleMetric(name)!;
  const { values } = await metric.get();
  return values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

test("a watch failing with 410 Gone counts a restart and a re-list for its kind", async () => {
  const recorder = createRecorder();
  source = createKubernetesSource({ kubeconfig: api.kubeconfigPath, kinds: ["Service"], backoff: { initialMs: 10, maxMs: 100 }, logger: quiet, counters: informerCounters(defaultMetrics()) });
  await source.start(recorder);
  await recorder.synced;
  const restarts = await counter("isobar_informer_restarts_total", "Service");
  const relists = await counter("isobar_informer_relists_total", "Service");
  api.injectFault({ verb: "watch", plural: "services", fault: { type: "http", status: 410 } });
  api.closeWatches();
  const relisted = api.waitForRequest((r) => r.verb === "list" && r.plural === "services");
  await relisted;
  expect(await counter("isobar_informer_relists_total", "Service")).toBe(relists + 1);
  expect(await counter("isobar_informer_restarts_total", "Service")).toBe(restarts + 1);
});
