// A cluster's worth of objects for benchmarks: per app an Ingress, its Service and EndpointSlice;
// TLS Secrets for half of the Ingresses; and the Secrets a real cluster is full of that the agent
// must not pay for: large unreferenced Opaque ones and Helm releases (excluded by field selector).
import { createCa, issueLeaf } from "../../src/certs/x509.ts";
import type { KubeObject } from "../../src/sources/types.ts";

export interface DatasetOptions {
  apps: number;
  tlsSecrets: number;
  unrelatedSecrets: number;
  unrelatedKiB: number;
  helmReleases: number;
  namespaces?: number;
}

export const namespaceOf = (i: number, namespaces: number) => `ns-${i % namespaces}`;

/** Calls `add` with every object; the same certificate serves every TLS Secret. */
export async function generateDataset(options: DatasetOptions, add: (object: KubeObject) => void): Promise<void> {
  const namespaces = options.namespaces ?? 100;
  const ca = await createCa({ commonName: "bench CA" });
  const leaf = await issueLeaf(ca, { commonName: "*.example.com", dnsNames: ["*.example.com"], usage: "server" });
  const tlsData = { "tls.crt": Buffer.from(leaf.certificatePem).toString("base64"), "tls.key": Buffer.from(leaf.privateKeyPem).toString("base64") };
  for (let i = 0; i < options.apps; i++) {
    const namespace = namespaceOf(i, namespaces);
    const name = `app-${i}`;
    add({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, labels: { app: name } },
      spec: { type: "ClusterIP", clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }], selector: { app: name } },
    });
    add({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-abcde`, namespace, labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      endpoints: [0, 1, 2].map((e) => ({ addresses: [`10.${e + 1}.${(i >> 8) & 255}.${i & 255}`], conditions: { ready: true } })),
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    });
    const tls = i < options.tlsSecrets;
    add({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace },
      spec: {
        ...(tls ? { tls: [{ hosts: [`${name}.example.com`], secretName: `${name}-tls` }] } : {}),
        rules: [{ host: `${name}.example.com`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] } }],
      },
    });
    if (tls) add({ apiVersion: "v1", kind: "Secret", metadata: { name: `${name}-tls`, namespace }, type: "kubernetes.io/tls", data: tlsData });
  }
  const payload = Buffer.alloc(options.unrelatedKiB * 1024 * 0.75, "x").toString("base64");
  for (let i = 0; i < options.unrelatedSecrets; i++) {
    add({ apiVersion: "v1", kind: "Secret", metadata: { name: `unrelated-${i}`, namespace: namespaceOf(i, namespaces), labels: { unrelated: "true" } }, type: "Opaque", data: { payload } });
  }
  for (let i = 0; i < options.helmReleases; i++) {
    add({ apiVersion: "v1", kind: "Secret", metadata: { name: `sh.helm.release.v1.app-${i}.v1`, namespace: namespaceOf(i, namespaces) }, type: "helm.sh/release.v1", data: { release: payload } });
  }
}
