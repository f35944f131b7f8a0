// Where the agent finds its Kubernetes credentials, in kubectl's order: --kubeconfig, $KUBECONFIG
// (a list, merged), ~/.kube/config, then in-cluster; --context picks a context; a missing file or
// context is a one-line KubeConfigError.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfigError, currentNamespace, loadKubeConfig } from "../src/k8s/kubeconfig.ts";

let dir: string;

function kubeconfig(name: string, contexts: { name: string; server: string; namespace?: string }[], current: string): string {
  const path = join(dir, name);
  const lines = ["apiVersion: v1", "kind: Config", "clusters:"];
  for (const c of contexts) lines.push(`- name: ${c.name}`, "  cluster:", `    server: ${c.server}`);
  lines.push("users:", "- name: me", "  user:", "    token: t", "contexts:");
  for (const c of contexts) lines.push(`- name: ${c.name}`, "  context:", `    cluster: ${c.name}`, "    user: me", ...(c.namespace ? [`    namespace: ${c.namespace}`] : []));
  lines.push(`current-context: ${current}`);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "kubeconfig-test-"));
  mkdirSync(join(dir, "home", ".kube"), { recursive: true });
  kubeconfig("home/.kube/config", [{ name: "home", server: "https://home.example:6443" }], "home");
  kubeconfig("a", [{ name: "a", server: "https://a.example:6443", namespace: "team-a" }], "a");
  kubeconfig("b", [{ name: "b", server: "https://b.example:6443" }], "b");
  mkdirSync(join(dir, "sa"));
  writeFileSync(join(dir, "sa", "token"), "sa-token");
  writeFileSync(join(dir, "sa", "ca.crt"), "not read here");
  writeFileSync(join(dir, "sa", "namespace"), "isobar-system\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const home = () => join(dir, "home");
const server = (options: Parameters<typeof loadKubeConfig>[0]) => {
  const { kubeConfig, origin } = loadKubeConfig(options);
  return `${origin} ${kubeConfig.getCurrentCluster()!.server}`;
};

describe("loadKubeConfig", () => {
  test("--kubeconfig wins over KUBECONFIG and ~/.kube/config", () => {
    expect(server({ kubeconfig: join(dir, "b"), env: { KUBECONFIG: join(dir, "a") }, home: home() })).toBe("flag https://b.example:6443");
  });

  test("KUBECONFIG: a list of files, merged, the first one's current context; --context picks another", () => {
    const env = { KUBECONFIG: `${join(dir, "a")}:${join(dir, "missing")}:${join(dir, "b")}` };
    expect(server({ env, home: home() })).toBe("env https://a.example:6443");
    expect(server({ env, home: home(), context: "b" })).toBe("env https://b.example:6443");
    expect(currentNamespace(loadKubeConfig({ env, home: home() }).kubeConfig)).toBe("team-a");
  });

  test("~/.kube/config, then in-cluster when KUBERNETES_SERVICE_HOST and the token exist", () => {
    expect(server({ env: {}, home: home() })).toBe("home https://home.example:6443");
    const inCluster = { env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, serviceAccountDir: join(dir, "sa"), home: join(dir, "nowhere") };
    expect(server(inCluster)).toBe("in-cluster https://10.96.0.1:443");
    expect(currentNamespace(loadKubeConfig(inCluster).kubeConfig)).toBe("isobar-system");
    // --incluster: even with a kubeconfig at hand.
    expect(server({ ...inCluster, home: home(), inCluster: true })).toBe("in-cluster https://10.96.0.1:443");
    expect(server({ env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" }, serviceAccountDir: join(dir, "sa"), inCluster: true })).toBe("in-cluster https://[fd00::1]:6443");
  });

  test("what is missing is named in one line", () => {
    expect(() => loadKubeConfig({ kubeconfig: join(dir, "nope"), env: {} })).toThrow(new KubeConfigError(`kubeconfig ${join(dir, "nope")} does not exist`));
    expect(() => loadKubeConfig({ env: {}, home: home(), context: "prod" })).toThrow("context prod is not in the kubeconfig");
    expect(() => loadKubeConfig({ env: {}, home: join(dir, "nowhere"), serviceAccountDir: join(dir, "nowhere") })).toThrow(KubeConfigError);
    expect(() => loadKubeConfig({ env: {}, inCluster: true, serviceAccountDir: join(dir, "sa") })).toThrow("in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)");
  });
});
