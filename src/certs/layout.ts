// The certificate directory `agent certs` manages, and the operations on it:
//   DIR/ca.crt  the trusted CA bundle (two CAs while a CA rollover overlaps)
//   DIR/ca.key  the key of the current CA (the bundle's CA that matches it signs new leaves)
//   DIR/agent/{ca.crt,tls.crt,tls.key}   the xDS server's identity (serverAuth)
//   DIR/envoy/{ca.crt,tls.crt,tls.key}   Envoy's identity (clientAuth)
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type FileToWrite, identityFiles, readPair, CertFileError } from "./files.ts";
import { type KeyAlgorithm, type LeafUsage, type PemPair, createCa, issueLeaf, keyMatchesCertificate, parseCertificates, privateKeyProblem, serviceDnsNames, summarize } from "./x509.ts";

export interface IdentitySpec {
  /** Folder under DIR and the certificate's common name. */
  name: string;
  usage: LeafUsage;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface InitOptions {
  namespace: string;
  serviceName: string;
  extraDnsNames: string[];
  ipAddresses: string[];
  keyAlgorithm: KeyAlgorithm;
  caDays: number;
  leafDays: number;
  now?: Date;
}

/** The agent's and Envoy's identities for `certs init`. */
export function defaultIdentities(options: Pick<InitOptions, "namespace" | "serviceName" | "extraDnsNames" | "ipAddresses">): IdentitySpec[] {
  return [
    {
      name: "agent",
      usage: "server",
      dnsNames: [...serviceDnsNames(options.serviceName, options.namespace), ...options.extraDnsNames],
      ipAddresses: options.ipAddresses,
    },
    { name: "envoy", usage: "client", dnsNames: ["envoy"], ipAddresses: [] },
  ];
}

export interface CertSet {
  ca: PemPair;
  caBundlePem: string;
  identities: Array<{ spec: IdentitySpec; pair: PemPair }>;
}

/** A new CA and one leaf per identity. */
export async function createCertSet(options: InitOptions): Promise<CertSet> {
  const ca = await createCa({ keyAlgorithm: options.keyAlgorithm, validityDays: options.caDays, now: options.now });
  const identities = [];
  for (const spec of defaultIdentities(options)) {
    identities.push({ spec, pair: await issueSpec(ca, spec, options) });
  }
  return { ca, caBundlePem: ca.certificatePem, identities };
}

function issueSpec(ca: PemPair, spec: IdentitySpec, options: { keyAlgorithm: KeyAlgorithm; leafDays: number; now?: Date }): Promise<PemPair> {
  return issueLeaf(ca, {
    commonName: spec.name,
    dnsNames: spec.dnsNames,
    ipAddresses: spec.ipAddresses,
    usage: spec.usage,
    keyAlgorithm: options.keyAlgorithm,
    validityDays: options.leafDays,
    now: options.now,
  });
}

/** The files of a cert set in a directory. */
export function certSetFiles(dir: string, set: CertSet): FileToWrite[] {
  return [
    { path: join(dir, "ca.crt"), content: set.caBundlePem, mode: 0o644 },
    { path: join(dir, "ca.key"), content: set.ca.privateKeyPem, mode: 0o600 },
    ...set.identities.flatMap(({ spec, pair }) => identityFiles(join(dir, spec.name), pair, set.caBundlePem)),
  ];
}

/** A Secret as `certSetSecrets` makes it: data values are base64. */
export interface TlsSecret {
  apiVersion: "v1";
  kind: "Secret";
  /** kubernetes.io/tls; Opaque for a CA certificate alone (Contour's cacert). */
  type: "kubernetes.io/tls" | "Opaque";
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  data: Record<string, string>;
}

/** Kubernetes Secrets (kubernetes.io/tls, cert-manager's layout) for a cert set, as objects: the CA's first. */
export function certSetSecrets(set: CertSet, options: { namespace: string; agentSecret: string; envoySecret: string; caSecret: string }): TlsSecret[] {
  const secret = (name: string, data: Record<string, string>): TlsSecret => ({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name, namespace: options.namespace, labels: { "app.kubernetes.io/managed-by": "isobar" } },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")])),
  });
  const names: Record<string, string> = { agent: options.agentSecret, envoy: options.envoySecret };
  return [
    secret(options.caSecret, { "ca.crt": set.caBundlePem, "tls.crt": set.ca.certificatePem, "tls.key": set.ca.privateKeyPem }),
    ...set.identities.map(({ spec, pair }) => secret(names[spec.name] ?? spec.name, { "ca.crt": set.caBundlePem, "tls.crt": pair.certificatePem, "tls.key": pair.privateKeyPem })),
  ];
}

/** Loads the CA bundle and finds the CA that ca.key belongs to. */
export async function loadCa(dir: string): Promise<{ current: PemPair; bundlePem: string }> {
  const pair = readPair(join(dir, "ca.crt"), join(dir, "ca.key"));
  const keyProblem = privateKeyProblem(pair.privateKeyPem);
  if (keyProblem) throw new CertFileError(`${join(dir, "ca.key")} ${keyProblem}`);
  for (const certificate of parseCertificates(pair.certificatePem)) {
    if (await keyMatchesCertificate(pair.privateKeyPem, certificate)) {
      return { current: { certificatePem: certificate.toString("pem"), privateKeyPem: pair.privateKeyPem }, bundlePem: pair.certificatePem };
    }
  }
  throw new CertFileError(`${join(dir, "ca.key")} matches no certificate in ${join(dir, "ca.crt")}`);
}

/** Reads back the identity spec of an existing leaf (its CN, usage and SANs), so it can be renewed as it was. */
export function identityOf(dir: string, name: string): IdentitySpec {
  const path = join(dir, name, "tls.crt");
  if (!existsSync(path)) throw new CertFileError(`${path} does not exist`);
  const summary = summarize(parseCertificates(readFileSync(path, "utf8"))[0]!);
  const server = summary.extendedKeyUsages.includes("serverAuth");
  const client = summary.extendedKeyUsages.includes("clientAuth");
  return { name, usage: server && client ? "both" : server ? "server" : "client", dnsNames: summary.dnsNames, ipAddresses: summary.ipAddresses };
}

export interface RotateOptions {
  /** Renew leaves with fewer days left than this (all leaves when force). */
  beforeDays: number;
  force: boolean;
  /** Start a CA rollover: a new CA signs new leaves; both CAs are trusted until finishRollover. */
  rotateCa: boolean;
  /** End a rollover: drop every CA but the current one from the bundles. */
  finishRollover: boolean;
  keyAlgorithm: KeyAlgorithm;
  caDays: number;
  leafDays: number;
  identities: string[];
  now?: Date;
}

/** What rotate decided, and the files to write (empty when nothing is due). */
export async function planRotation(dir: string, options: RotateOptions): Promise<{ actions: string[]; files: FileToWrite[] }> {
  const now = options.now ?? new Date();
  let { current, bundlePem } = await loadCa(dir);
  const actions: string[] = [];
  const files: FileToWrite[] = [];
  let renewAll = options.force;
  if (options.rotateCa) {
    current = await createCa({ keyAlgorithm: options.keyAlgorithm, validityDays: options.caDays, now });
    bundlePem = `${bundlePem.trimEnd()}\n${current.certificatePem}`;
    files.push({ path: join(dir, "ca.key"), content: current.privateKeyPem, mode: 0o600 });
    actions.push("new CA created; old and new CA both trusted until `certs rotate --finish-ca-rollover`");
    renewAll = true;
  } else if (options.finishRollover) {
    bundlePem = current.certificatePem;
    actions.push("CA rollover finished: only the current CA is trusted");
  }
  const bundleChanged = options.rotateCa || options.finishRollover;
  if (bundleChanged) files.push({ path: join(dir, "ca.crt"), content: bundlePem, mode: 0o644 });
  for (const name of options.identities) {
    const spec = identityOf(dir, name);
    const leaf = parseCertificates(readFileSync(join(dir, name, "tls.crt"), "utf8"))[0]!;
    const daysLeft = summarize(leaf, now).daysLeft;
    if (renewAll || daysLeft < options.beforeDays) {
      const pair = await issueSpec(current, spec, { keyAlgorithm: options.keyAlgorithm, leafDays: options.leafDays, now });
      files.push(...identityFiles(join(dir, name), pair, bundlePem));
      actions.push(`${name}: renewed (had ${daysLeft} days left)`);
    } else if (bundleChanged) {
      files.push({ path: join(dir, name, "ca.crt"), content: bundlePem, mode: 0o644 });
      actions.push(`${name}: CA bundle updated (${daysLeft} days left)`);
    } else {
      actions.push(`${name}: ${daysLeft} days left, not due`);
    }
  }
  return { actions, files };
}
