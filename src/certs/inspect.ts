// `agent certs inspect`: what a person needs to know about certificates on disk — subject, SANs,
// validity, days left, whether each leaf chains to the CA bundle — and whether any needs action.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type CertificateSummary, parseCertificates, summarize, verifyChain } from "./x509.ts";

export interface InspectedCertificate extends CertificateSummary {
  file: string;
  /** undefined when the chain checks out (or there is no CA to check against), else why not. */
  chainError?: string;
  status: "ok" | "expiring" | "expired" | "invalid";
}

/** Inspects a certificates directory (`agent certs` layout) or single PEM files. */
export async function inspectPaths(paths: string[], options: { caFile?: string; warnDays: number; now?: Date }): Promise<InspectedCertificate[]> {
  const now = options.now ?? new Date();
  const results: InspectedCertificate[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    const files = statSync(path).isDirectory() ? layoutFiles(path) : [{ file: path, caFile: options.caFile }];
    for (const { file, caFile } of files) {
      const cas = caFile ? parseCertificates(readFileSync(caFile, "utf8")) : [];
      for (const certificate of parseCertificates(readFileSync(file, "utf8"))) {
        const summary = summarize(certificate, now);
        const chainError = !summary.isCa && cas.length > 0 ? await verifyChain(certificate, cas, now) : undefined;
        const expired = now > certificate.notAfter || now < certificate.notBefore;
        const status = expired ? "expired" : chainError ? "invalid" : summary.daysLeft < options.warnDays ? "expiring" : "ok";
        results.push({ file, ...summary, chainError, status });
      }
    }
  }
  return results;
}

function layoutFiles(dir: string): Array<{ file: string; caFile?: string }> {
  const caFile = existsSync(join(dir, "ca.crt")) ? join(dir, "ca.crt") : undefined;
  const files: Array<{ file: string; caFile?: string }> = caFile ? [{ file: caFile }] : [];
  // Every leaf folder: agent and envoy from `certs init`, and any added with `certs issue --name`.
  const leaves = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  for (const name of leaves) {
    const leaf = join(dir, name, "tls.crt");
    // Checked against the directory's CA bundle, what every peer trusts now (a leaf left out of a CA
    // rollover still chains to its own stale ca.crt), else against the leaf's own bundle.
    if (existsSync(leaf)) files.push({ file: leaf, caFile: caFile ?? (existsSync(join(dir, name, "ca.crt")) ? join(dir, name, "ca.crt") : undefined) });
  }
  if (files.length === 0) throw new Error(`${dir} holds no ca.crt and no NAME/tls.crt (agent, envoy, …)`);
  return files;
}

/** One line per certificate, for a terminal. */
export function formatInspection(results: InspectedCertificate[]): string {
  return results
    .map((r) => {
      const names = [...r.dnsNames, ...r.ipAddresses];
      const chain = r.isCa ? "CA" : r.chainError ? `chain: ${r.chainError}` : "chain ok";
      return `${r.status.toUpperCase().padEnd(8)} ${r.file}: ${r.subject}${names.length ? ` [${names.join(", ")}]` : ""}, ${r.extendedKeyUsages.join("+") || "-"}, expires ${r.notAfter} (${r.daysLeft} days), ${chain}`;
    })
    .join("\n");
}
