// `agent certs --kube|--yaml|--pem …`: Contour's `certgen` flags on `agent certs`, so Contour's
// certgen Job runs unchanged. It makes what Contour's makes: a CA, the xDS server's certificate in
// Secret `contourcert` (SANs for Service `contour`, and `isobar`, the name `agent bootstrap` pins) and
// Envoy's in `envoycert`, each with the CA as ca.crt; the `legacy` format adds Secret `cacert`
// (the CA certificate only). Files: Contour's names (cacert.pem, contourcert.pem, contourkey.pem, …).
import { join } from "node:path";
import { consola } from "consola";
import { stringify } from "yaml";
import { type FileToWrite, writeFilesAtomically } from "../certs/files.ts";
import { certSetSecrets, createCertSet, type CertSet, type TlsSecret } from "../certs/layout.ts";
import { clusterClient, createSecrets } from "./certs-cluster.ts";
import { choiceFlag, CliError, intFlag } from "./errors.ts";

const log = consola.withTag("certs");

export const certgenArgs = {
  kube: { type: "boolean", default: false, description: "[Contour certgen] create the Secrets in the cluster" },
  yaml: { type: "boolean", default: false, description: "[Contour certgen] write the Secrets as YAML files into certs/" },
  pem: { type: "boolean", default: false, description: "[Contour certgen] write PEM files into certs/ (cacert.pem, contourcert.pem, contourkey.pem, envoycert.pem, envoykey.pem)" },
  namespace: { type: "string", valueHint: "NAMESPACE", description: "[Contour certgen] namespace of the Secrets and of Service contour (env CONTOUR_NAMESPACE; default projectcontour)" },
  "secrets-format": { type: "string", default: "legacy", valueHint: "FORMAT", description: "[Contour certgen] legacy (contourcert, envoycert and cacert) or compact (contourcert and envoycert)" },
  "secrets-name-suffix": { type: "string", valueHint: "SUFFIX", description: "[Contour certgen] appended to each Secret's name" },
  "certificate-lifetime": { type: "string", default: "365", valueHint: "DAYS", description: "[Contour certgen] lifetime of the CA and the certificates, in days" },
  overwrite: { type: "boolean", default: false, description: "[Contour certgen] replace existing files or Secrets" },
  kubeconfig: { type: "string", valueHint: "FILE", description: "[Contour certgen] with --kube: the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)" },
  incluster: { type: "boolean", default: false, description: "[Contour certgen] with --kube: use the pod's service account" },
} as const;

type CertgenArgs = { [K in keyof typeof certgenArgs]: (typeof certgenArgs)[K]["type"] extends "boolean" ? boolean : string | undefined };

const out = "certs";

/** Contour's Secrets: contourcert and envoycert (and, legacy, cacert without the CA's key). */
function contourSecrets(set: CertSet, namespace: string, format: "legacy" | "compact", suffix: string): TlsSecret[] {
  const [ca, ...leaves] = certSetSecrets(set, { namespace, agentSecret: `contourcert${suffix}`, envoySecret: `envoycert${suffix}`, caSecret: `cacert${suffix}` });
  if (format === "compact") return leaves;
  const caOnly: TlsSecret = { ...ca!, type: "Opaque", data: { "ca.crt": ca!.data["ca.crt"]!, "cacert.pem": ca!.data["ca.crt"]! } };
  return [caOnly, ...leaves];
}

function contourPemFiles(set: CertSet): FileToWrite[] {
  const pair = (name: string) => set.identities.find((i) => i.spec.name === name)!.pair;
  return [
    { path: join(out, "cacert.pem"), content: set.caBundlePem, mode: 0o644 },
    { path: join(out, "contourcert.pem"), content: pair("agent").certificatePem, mode: 0o644 },
    { path: join(out, "contourkey.pem"), content: pair("agent").privateKeyPem, mode: 0o600 },
    { path: join(out, "envoycert.pem"), content: pair("envoy").certificatePem, mode: 0o644 },
    { path: join(out, "envoykey.pem"), content: pair("envoy").privateKeyPem, mode: 0o600 },
  ];
}

/** Runs Contour's certgen as `agent certs` flags; true when any of its outputs was asked for. */
export async function runCertgen(args: CertgenArgs): Promise<boolean> {
  if (!args.kube && !args.yaml && !args.pem) return false;
  const format = choiceFlag("secrets-format", args["secrets-format"], ["legacy", "compact"] as const);
  const namespace = args.namespace || process.env.CONTOUR_NAMESPACE || "projectcontour";
  const days = intFlag("certificate-lifetime", args["certificate-lifetime"], 1, 36500);
  const suffix = args["secrets-name-suffix"] ?? "";
  if (!args.kube && (args.incluster || args.kubeconfig !== undefined)) throw new CliError("--kubeconfig and --incluster go with --kube");
  // --incluster wins over --kubeconfig, as in Contour. Before the keys are made: a missing kubeconfig is found at once.
  const client = args.kube ? clusterClient({ kubeconfig: args.incluster ? undefined : args.kubeconfig, incluster: args.incluster }) : undefined;
  // The CA lives a day longer than the leaves it signs, so none outlives it.
  const set = await createCertSet({ namespace, serviceName: "contour", extraDnsNames: ["isobar"], ipAddresses: [], keyAlgorithm: "ecdsa-p256", caDays: days + 1, leafDays: days });
  const secrets = contourSecrets(set, namespace, format, suffix);
  if (args.pem) {
    writeFilesAtomically(contourPemFiles(set), { overwrite: args.overwrite });
    process.stdout.write(`wrote PEM files to ${out}/ (keys 0600)\n`);
  }
  if (args.yaml) {
    writeFilesAtomically(secrets.map((s) => ({ path: join(out, `${s.metadata.name}.yaml`), content: stringify(s), mode: 0o600 })), { overwrite: args.overwrite });
    process.stdout.write(`wrote ${format} Secrets to YAML files in ${out}/\n`);
  }
  if (client) await createSecrets(client, secrets, { overwrite: args.overwrite, asContour: true });
  log.debug(`${format} Secrets in ${namespace}: ${secrets.map((s) => s.metadata.name).join(", ")}`);
  return true;
}
