// Lease leader election against the fake API server: of two electors only one leads; the other
// takes over when the first stops (released lease) or stops renewing (expired lease), and a leader
// cut off from the API server stops leading by its renew deadline.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { startLeaderElection, type LeaderElector } from "../src/k8s/leader.ts";
import { KubeApiError, createKubeClient, type KubeClient } from "../src/k8s/client.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";

const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {} } as never;
const timing = { leaseDurationSeconds: 1, renewDeadlineSeconds: 0.6, retryPeriodSeconds: 0.1 };
let api: FakeApiServer;
const clients: KubeClient[] = [];
const electors: LeaderElector[] = [];

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
  for (const client of clients.splice(0)) client.close();
  await api.close();
});

interface Candidate {
  elector: LeaderElector;
  started: Promise<void>;
  stopped: Promise<void>;
  cut(): void;
}

function candidate(identity: string): Candidate {
  const client = createKubeClient(loadKubeConfig({ kubeconfig: api.kubeconfigPath }).kubeConfig);
  clients.push(client);
  let partitioned = false;
  const reachable: KubeClient = {
    ...client,
    request: (method, path, options) => (partitioned ? Promise.reject(new KubeApiError("network unreachable", 0)) : client.request(method, path, options)),
  };
  let onStarted!: () => void;
  let onStopped!: () => void;
  const started = new Promise<void>((resolve) => (onStarted = resolve));
  const stopped = new Promise<void>((resolve) => (onStopped = resolve));
  const elector = startLeaderElection({
    client: reachable,
    namespace: "isobar-system",
    name: "isobar-leader",
    identity,
    ...timing,
    logger: quiet,
    onStartedLeading: onStarted,
    onStoppedLeading: onStopped,
  });
  electors.push(elector);
  return { elector, started, stopped, cut: () => (partitioned = true) };
}

const lease = () => api.get("Lease", "isobar-system", "isobar-leader")!.spec as { holderIdentity: string; leaseTransitions: number; leaseDurationSeconds: number };

async function attempts(identityCount: number): Promise<void> {
  for (let i = 0; i < identityCount; i++) await api.waitForRequest((r) => r.plural === "leases" && r.verb === "get");
}

describe("leader election", () => {
  test("two electors: exactly one leads; the other takes over at once when the leader stops and releases", async () => {
    const a = candidate("agent-a");
    const b = candidate("agent-b");
    const first = await Promise.race([a.started.then(() => a), b.started.then(() => b)]);
    const second = first === a ? b : a;
    // Several rounds of both trying: still one leader, and the Lease names it.
    await attempts(10);
    expect(first.elector.isLeader()).toBe(true);
    expect(second.elector.isLeader()).toBe(false);
    expect(lease().holderIdentity).toBe(first === a ? "agent-a" : "agent-b");
    expect(second.elector.leader()).toBe(lease().holderIdentity);

    const stoppedAt = api.requests.length;
    await first.elector.stop();
    await first.stopped;
    expect(first.elector.isLeader()).toBe(false);
    // Released as client-go does: no holder, duration 1s. (A renewal in flight when stop() was
    // called may be logged first; the release is the update that clears the holder.)
    const updates = api.requests.slice(stoppedAt).filter((r) => r.verb === "update").map((r) => (r.body as { spec: { holderIdentity: string; leaseDurationSeconds: number } }).spec);
    expect(updates.filter((spec) => spec.holderIdentity === "")).toEqual([expect.objectContaining({ holderIdentity: "", leaseDurationSeconds: 1 })]);
    await second.started;
    expect(second.elector.isLeader()).toBe(true);
    expect(lease()).toMatchObject({ holderIdentity: second === a ? "agent-a" : "agent-b", leaseTransitions: 1 });
  });

  test("a leader cut off from the API server stops leading by its renew deadline; the other takes over once the lease expires", async () => {
    const a = candidate("agent-a");
    await a.started;
    const b = candidate("agent-b");
    await attempts(3);
    expect(b.elector.isLeader()).toBe(false);
    a.cut();
    await a.stopped;
    expect(a.elector.isLeader()).toBe(false);
    await b.started;
    expect(lease().holderIdentity).toBe("agent-b");
    expect(b.elector.isLeader()).toBe(true);
  });

  test("a leader whose lease was taken (it missed its renewals) learns it at the next renewal", async () => {
    const a = candidate("agent-a");
    await a.started;
    // Another replica's write, as if it had taken over while we were paused.
    const current = api.get("Lease", "isobar-system", "isobar-leader")!;
    api.update({ ...current, spec: { ...(current.spec as object), holderIdentity: "agent-z", renewTime: new Date().toISOString() } });
    await a.stopped;
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.leader()).toBe("agent-z");
  });
});
