// Credentials for the fake API server, made fresh per server: a CA and a serving certificate for
// 127.0.0.1 (as a cluster's CA signs the API server's), a bearer token, and the files an agent
// reads: a kubeconfig naming the CA file, and a service-account directory as mounted in a pod.
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueLeaf } from "../../src/certs/x509.ts";

export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** A CA and a certificate for 127.0.0.1 and localhost signed by it. */
export async function makeServingCertificate(): Promise<ServingCertificate> {
  const ca = await createCa({ commonName: "fake-apiserver-ca", validityDays: 2 });
  const leaf = await issueLeaf(ca, { commonName: "kube-apiserver", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], usage: "server", validityDays: 1 });
  return { caPem: ca.certificatePem, certPem: leaf.certificatePem, keyPem: leaf.privateKeyPem };
}

export interface CredentialFiles {
  dir: string;
  kubeconfigPath: string;
  caFile?: string;
  /** A directory laid out as /var/run/secrets/kubernetes.io/serviceaccount (HTTPS only). */
  serviceAccountDir?: string;
}

/** Writes the kubeconfig (and, over HTTPS, the CA file and a service-account directory). */
export function writeCredentialFiles(options: { url: string; token: string; caPem?: string; namespace?: string }): CredentialFiles {
  const dir = mkdtempSync(join(tmpdir(), "fake-apiserver-"));
  const files: CredentialFiles = { dir, kubeconfigPath: join(dir, "kubeconfig") };
  let clusterLines: string;
  if (options.caPem) {
    files.caFile = join(dir, "ca.crt");
    writeFileSync(files.caFile, options.caPem);
    clusterLines = `    certificate-authority: ${files.caFile}`;
    files.serviceAccountDir = join(dir, "serviceaccount");
    mkdirSync(files.serviceAccountDir);
    writeFileSync(join(files.serviceAccountDir, "token"), options.token);
    writeFileSync(join(files.serviceAccountDir, "ca.crt"), options.caPem);
    writeFileSync(join(files.serviceAccountDir, "namespace"), options.namespace ?? "isobar-system");
  } else {
    // client-node refuses plain http unless TLS verification is explicitly off.
    clusterLines = "    insecure-skip-tls-verify: true";
  }
  writeFileSync(
    files.kubeconfigPath,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: fake",
      "  cluster:",
      `    server: ${options.url}`,
      clusterLines,
      "contexts:",
      "- name: fake",
      "  context:",
      "    cluster: fake",
      "    user: fake",
      `    namespace: ${options.namespace ?? "isobar-system"}`,
      "current-context: fake",
      "users:",
      "- name: fake",
      "  user:",
      `    token: ${options.token}`,
      "",
    ].join("\n"),
  );
  return files;
}
