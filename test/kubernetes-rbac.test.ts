// examples/rbac grants exactly what the agent uses: every request a source, the status writer and
// leader election make against the fake API server is authorized by those rules (evaluated as the
// RBAC authorizer does), and the rules grant no write beyond status subresources and the Lease.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { startFakeApiServer, type FakeApiServer, type LoggedRequest } from "./fake-apiserver/index.ts";
import { createRecorder } from "./fake-apiserver/recorder.ts";
import { resourceTypes } from "./fake-apiserver/resources.ts";
import { createKubernetesSource } from "../src/sources/kubernetes.ts";
import { createStatusWriter } from "../src/status/status.ts";
import { startLeaderElection } from "../src/k8s/leader.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import { StatusRecorder } from "../src/dag/status.ts";

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Grant {
  rules: Rule[];
  /** undefined: every namespace (ClusterRoleBinding). */
  namespace?: string;
}

const rbacDir = join(import.meta.dir, "..", "examples", "rbac");
const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {} } as never;

function loadGrants(): Grant[] {
  const docs = readdirSync(rbacDir)
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => parseAllDocuments(readFileSync(join(rbacDir, f), "utf8")).map((d) => d.toJS() as Record<string, any>));
  const subject = docs.find((d) => d.kind === "ServiceAccount")!;
  const bound = (binding: Record<string, any>) =>
    binding.subjects.some((s: Record<string, string>) => s.kind === "ServiceAccount" && s.name === subject.metadata.name && s.namespace === subject.metadata.namespace);
  const grants: Grant[] = [];
  for (const binding of docs.filter((d) => (d.kind === "ClusterRoleBinding" || d.kind === "RoleBinding") && bound(d))) {
    const role = docs.find((d) => d.kind === binding.roleRef.kind && d.metadata.name === binding.roleRef.name)!;
    grants.push({ rules: role.rules, namespace: binding.kind === "RoleBinding" ? binding.metadata.namespace : undefined });
  }
  return grants;
}

const verbOf: Record<string, string> = { list: "list", watch: "watch", get: "get", patch: "patch", update: "update", create: "create", delete: "delete" };

/** Whether a logged request is allowed, as the RBAC authorizer decides. */
function allowed(grants: Grant[], request: LoggedRequest): boolean {
  const type = resourceTypes.find((t) => t.plural === request.plural)!;
  const resource = request.subresource ? `${type.plural}/${request.subresource}` : type.plural;
  const namespace = /\/namespaces\/([^/]+)\//.exec(request.path)?.[1];
  const segments = request.path.split("/");
  const named = segments[segments.lastIndexOf(type.plural) + 1];
  const name = named === undefined ? undefined : decodeURIComponent(named);
  return grants.some(
    (grant) =>
      (grant.namespace === undefined || grant.namespace === namespace) &&
      grant.rules.some(
        (rule) =>
          rule.apiGroups.includes(type.group) &&
          rule.resources.includes(resource) &&
          rule.verbs.includes(verbOf[request.verb]!) &&
          (!rule.resourceNames || (name !== undefined && rule.resourceNames.includes(name))),
      ),
  );
}

let api: FakeApiServer;

beforeAll(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});

afterAll(async () => {
  await api.close();
});

describe("examples/rbac", () => {
  test("authorizes every request the agent makes: watching, writing status, electing a leader", async () => {
    const grants = loadGrants();
    api.create({ apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { name: "root", namespace: "web" }, spec: { virtualhost: { fqdn: "a.example.com" } } });
    api.create({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "web", namespace: "web" }, spec: {} });
    const { kubeConfig } = loadKubeConfig({ kubeconfig: api.kubeconfigPath });
    const recorder = createRecorder();
    const source = createKubernetesSource({ kubeConfig, logger: quiet });
    await source.start(recorder);
    await recorder.synced;
    let onStarted!: () => void;
    const started = new Promise<void>((resolve) => (onStarted = resolve));
    const elector = startLeaderElection({ kubeConfig, namespace: "isobar-system", name: "isobar-leader", identity: "a", leaseDurationSeconds: 2, renewDeadlineSeconds: 1, retryPeriodSeconds: 0.1, onStartedLeading: onStarted, logger: quiet });
    await started;
    const writer = createStatusWriter({ kubeConfig, isLeader: elector.isLeader, loadBalancer: { ip: "192.0.2.1" }, logger: quiet });
    const statuses = new StatusRecorder();
    statuses.track({ kind: "HTTPProxy", namespace: "web", name: "root" }, 1);
    statuses.track({ kind: "Ingress", namespace: "web", name: "web" }, 1);
    writer.update(statuses.all(), (ref) => api.get(ref.kind, ref.namespace, ref.name));
    await writer.idle();
    await writer.stop();
    await elector.stop();
    await source.stop();

    const served = api.requests.filter((r) => r.plural);
    expect(served.filter((r) => r.verb === "patch" && r.subresource === "status")).toHaveLength(2);
    expect(served.some((r) => r.plural === "leases" && r.verb === "create")).toBe(true);
    expect(served.some((r) => r.plural === "leases" && r.verb === "update")).toBe(true);
    const denied = served.filter((r) => !allowed(grants, r)).map((r) => `${r.verb} ${r.path}`);
    expect(denied).toEqual([]);
    // The read-back after a conflict is allowed; a Lease of another name or namespace is not.
    const probe = (verb: string, path: string, plural: string, subresource?: string) => allowed(grants, { method: "", path, query: {}, verb, plural, subresource, status: 0 });
    expect(probe("get", "/apis/networking.k8s.io/v1/namespaces/web/ingresses/web", "ingresses")).toBe(true);
    expect(probe("get", "/apis/coordination.k8s.io/v1/namespaces/isobar-system/leases/other", "leases")).toBe(false);
    expect(probe("update", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/isobar-leader", "leases")).toBe(false);
  });

  test("grants no write outside status subresources and the Lease, and no wildcards", () => {
    for (const grant of loadGrants()) {
      for (const rule of grant.rules) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
        const writes = rule.verbs.filter((v) => !["get", "list", "watch"].includes(v));
        if (writes.length === 0) continue;
        const statusOnly = rule.resources.every((r) => r.endsWith("/status")) && writes.every((v) => v === "update" || v === "patch");
        const lease = rule.apiGroups.join() === "coordination.k8s.io" && rule.resources.join() === "leases" && grant.namespace !== undefined;
        expect(statusOnly || lease).toBe(true);
      }
    }
  });
});
