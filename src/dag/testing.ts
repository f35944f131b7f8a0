// Test helpers for DAG processors: an in-memory DagInput built from plain objects, small object
// constructors (Ingress, Service, TLS Secret, delegation) and real self-signed certificates made
// with @peculiar/x509 on WebCrypto. Used by the Ingress and HTTPProxy tests; no test framework here.
import { Buffer } from "node:buffer";
import { x509 } from "../certs/x509-lib.ts";
import type { KubeObject } from "../sources/types.ts";
import { buildDag } from "./builder.ts";
import type { DagInput, DagOptions } from "./processor.ts";
import type { ObjectRef, ObjectStatus } from "./status.ts";
import type { Dag, Route } from "./types.ts";

/** A DagInput over a list of objects, dispatched by kind. */
export function fakeInput(objects: KubeObject[]): DagInput {
  const byKind = (kind: string): KubeObject[] => objects.filter((o) => o.kind === kind);
  const find = (kind: string, namespace: string, name: string): KubeObject | undefined =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && (o.metadata.namespace ?? "") === namespace);
  return {
    ingresses: () => byKind("Ingress"),
    httpProxies: () => byKind("HTTPProxy"),
    tlsCertificateDelegations: () => byKind("TLSCertificateDelegation"),
    service: (namespace, name) => find("Service", namespace, name),
    secret: (namespace, name) => find("Secret", namespace, name),
  };
}

/** The instant tests pin the clock to. */
export const testNow = new Date("2026-06-01T00:00:00Z");

/** DagOptions for tests: every class served, ExternalName off, clock pinned to testNow. */
export function testOptions(overrides: Partial<DagOptions> = {}): DagOptions {
  return { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => testNow, ...overrides };
}

export interface ServicePortSpec {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

/** A Service with the given ports (default: one unnamed port 80). */
export function service(
  namespace: string,
  name: string,
  options: { ports?: ServicePortSpec[]; annotations?: Record<string, string>; type?: string; externalName?: string } = {},
): KubeObject {
  const spec: Record<string, unknown> = { ports: options.ports ?? [{ port: 80 }] };
  if (options.type) spec.type = options.type;
  if (options.externalName) spec.externalName = options.externalName;
  return { apiVersion: "v1", kind: "Service", metadata: { namespace, name, annotations: options.annotations }, spec };
}

/** An Ingress with the given spec. */
export function ingress(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  options: { annotations?: Record<string, string>; creationTimestamp?: string; generation?: number } = {},
): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { namespace, name, annotations: options.annotations, creationTimestamp: options.creationTimestamp, generation: options.generation },
    spec,
  };
}

/** An Ingress rule: one host, paths as [path, pathType, service, port]. */
export function rule(host: string | undefined, paths: Array<[string, string, string, number | string]>): Record<string, unknown> {
  return {
    ...(host === undefined ? {} : { host }),
    http: {
      paths: paths.map(([path, pathType, name, port]) => ({
        path,
        pathType,
        backend: { service: { name, port: typeof port === "number" ? { number: port } : { name: port } } },
      })),
    },
  };
}

/** A Secret with base64 `data`. */
export function secret(namespace: string, name: string, data: Record<string, string>, type = "kubernetes.io/tls"): KubeObject {
  const encoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) encoded[key] = Buffer.from(value, "utf8").toString("base64");
  return { apiVersion: "v1", kind: "Secret", metadata: { namespace, name }, type, data: encoded };
}

/** A TLSCertificateDelegation in `namespace` delegating `secretName` to `targets`. */
export function delegation(namespace: string, name: string, secretName: string, targets: string[]): KubeObject {
  return {
    apiVersion: "projectcontour.io/v1",
    kind: "TLSCertificateDelegation",
    metadata: { namespace, name },
    spec: { delegations: [{ secretName, targetNamespaces: targets }] },
  };
}

export interface TestCertificate {
  certificate: string; // PEM
  privateKey: string; // PEM, PKCS#8
}

const ecdsa = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A self-signed ECDSA P-256 certificate for `commonName`, valid between the given dates. */
export async function selfSignedCertificate(
  commonName: string,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<TestCertificate> {
  const keys = (await crypto.subtle.generateKey(ecdsa, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${commonName}`,
    notBefore: validity.notBefore ?? new Date("2026-01-01T00:00:00Z"),
    notAfter: validity.notAfter ?? new Date("2027-01-01T00:00:00Z"),
    signingAlgorithm: ecdsa,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: commonName }])],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { certificate: cert.toString("pem"), privateKey: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

/** A kubernetes.io/tls Secret holding `cert`. */
export function tlsSecret(namespace: string, name: string, cert: TestCertificate): KubeObject {
  return secret(namespace, name, { "tls.crt": cert.certificate, "tls.key": cert.privateKey });
}

/** A CRL (PEM) issued by a fresh self-signed CA, revoking serial "02". */
export async function testCrl(): Promise<string> {
  const keys = (await crypto.subtle.generateKey(ecdsa, true, ["sign", "verify"])) as CryptoKeyPair;
  const crl = await x509.X509CrlGenerator.create({
    issuer: "CN=test-ca",
    thisUpdate: new Date("2026-01-01T00:00:00Z"),
    nextUpdate: new Date("2027-01-01T00:00:00Z"),
    signingAlgorithm: ecdsa,
    signingKey: keys.privateKey,
    entries: [{ serialNumber: "02", revocationDate: new Date("2026-02-01T00:00:00Z") }],
  });
  // "X509 CRL" is the PEM label OpenSSL/BoringSSL (and so Envoy) read; the library writes "CRL".
  return x509.PemConverter.encode(crl.rawData, "X509 CRL");
}

/** The DAG of `objects`, built with the test options. */
export function buildObjects(objects: KubeObject[], options: Partial<DagOptions> = {}): Dag {
  return buildDag(fakeInput(objects), testOptions(options));
}

/** The status `dag` recorded on an object; throws when there is none. */
export function statusOf(dag: Dag, ref: ObjectRef): ObjectStatus {
  const status = dag.status.get(ref);
  if (!status) throw new Error(`no status for ${ref.kind} ${ref.namespace}/${ref.name}`);
  return status;
}

/** The routes of a virtual host (a secure one with `secure`); none when it is absent. */
export function hostRoutes(dag: Dag, host: string, secure = false): Route[] {
  return (secure ? dag.secureVirtualHosts : dag.virtualHosts).get(host)?.routes ?? [];
}
