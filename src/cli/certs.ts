// `agent certs`: the CA and the mTLS certificates between the agent and Envoy — init, issue,
// rotate, inspect. Parses flags and calls src/certs/; no logic of its own.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { consola } from "consola";
import { stringify } from "yaml";
import { writeFilesAtomically, identityFiles } from "../certs/files.ts";
import { formatInspection, inspectPaths } from "../certs/inspect.ts";
import { type CertSet, certSetFiles, certSetSecrets, createCertSet, loadCa, planRotation } from "../certs/layout.ts";
import { issueLeaf, keyAlgorithms, parseCertificates, summarize, type KeyAlgorithm } from "../certs/x509.ts";
import { logArgs, logFlags } from "./observe-flags.ts";
import { certgenArgs, runCertgen } from "./certgen.ts";
import { clusterClient, createSecrets } from "./certs-cluster.ts";
import { CliError, choiceFlag, intFlag, listFlag, runCommand } from "./errors.ts";

const log = consola.withTag("certs");

const common = {
  "key-algorithm": { type: "string", default: "ecdsa-p256", description: `key type: ${keyAlgorithms.join(", ")}` },
  "leaf-days": { type: "string", default: "90", description: "lifetime of leaf certificates, in days" },
  overwrite: { type: "boolean", default: false, description: "replace existing files (with --format cluster: existing Secrets)" },
  ...logArgs,
} as const;

/** A certificate for a debug line: subject, serial, expiry, SANs; never its key. */
function describe(certificatePem: string): string {
  const s = summarize(parseCertificates(certificatePem)[0]!);
  return `${s.subject} (serial ${s.serialNumber}, until ${s.notAfter}${s.dnsNames.length + s.ipAddresses.length > 0 ? `, SANs ${[...s.dnsNames, ...s.ipAddresses].join(" ")}` : ""})`;
}

/** What a new cert set holds, for a debug line. */
function describeCertSet(set: CertSet): string {
  return [`CA ${describe(set.ca.certificatePem)}`, ...set.identities.map(({ spec, pair }) => `${spec.name} ${spec.usage} ${describe(pair.certificatePem)}`)].join("; ");
}

const init = defineCommand({
  meta: { name: "init", description: "create a CA, the agent's server certificate and Envoy's client certificate" },
  args: {
    out: { type: "string", valueHint: "PATH", description: "directory for PEM files (default: certs), or with --format secrets the file for the YAML" },
    format: { type: "string", default: "files", description: "files (PEM in --out), secrets (Kubernetes Secret YAML on stdout or --out file) or cluster (the Secrets created through the Kubernetes API)" },
    namespace: { type: "string", default: "isobar-system", description: "the agent's namespace (for SANs and Secrets; the examples use isobar-system)" },
    "service-name": { type: "string", default: "isobar", description: "the agent's Service name (SANs: name, name.ns, name.ns.svc, name.ns.svc.cluster.local)" },
    "dns-name": { type: "string", description: "extra DNS SANs for the agent (repeatable, comma-separated)" },
    "ip-address": { type: "string", description: "IP SANs for the agent (repeatable, comma-separated)" },
    "ca-days": { type: "string", default: "3650", description: "lifetime of the CA, in days" },
    "agent-secret": { type: "string", default: "isobarcert", description: "Secret name for the agent's certificate" },
    "envoy-secret": { type: "string", default: "envoycert", description: "Secret name for Envoy's certificate" },
    "ca-secret": { type: "string", default: "isobar-ca", description: "Secret name for the CA (keeps its key for rotation)" },
    kubeconfig: { type: "string", description: "with --format cluster: the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)" },
    context: { type: "string", description: "with --format cluster: the kubeconfig context to use" },
    incluster: { type: "boolean", default: false, description: "with --format cluster: use the pod's service account" },
    ...common,
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      const format = choiceFlag("format", args.format, ["files", "secrets", "cluster"] as const);
      const cluster = args.kubeconfig !== undefined || args.context !== undefined || args.incluster;
      if (format !== "cluster" && cluster) throw new CliError("--kubeconfig, --context and --incluster go with --format cluster");
      if (format === "cluster" && args.out !== undefined) throw new CliError("--out does not go with --format cluster: the Secrets are written to the cluster");
      // Before the keys are made: a missing kubeconfig is found at once.
      const client = format === "cluster" ? clusterClient(args) : undefined;
      const set = await createCertSet({
        namespace: args.namespace,
        serviceName: args["service-name"],
        extraDnsNames: listFlag(args["dns-name"]),
        ipAddresses: listFlag(args["ip-address"]),
        keyAlgorithm: choiceFlag("key-algorithm", args["key-algorithm"], keyAlgorithms),
        caDays: intFlag("ca-days", args["ca-days"], 1, 36500),
        leafDays: intFlag("leaf-days", args["leaf-days"], 1, 3650),
      });
      log.debug(`created ${describeCertSet(set)}`);
      if (format === "files") {
        const out = args.out ?? "certs";
        writeFilesAtomically(certSetFiles(out, set), { overwrite: args.overwrite });
        process.stdout.write(`wrote CA, agent (server) and envoy (client) certificates to ${out}/ (keys 0600)\n`);
        return;
      }
      const secrets = certSetSecrets(set, { namespace: args.namespace, agentSecret: args["agent-secret"], envoySecret: args["envoy-secret"], caSecret: args["ca-secret"] });
      if (client) {
        await createSecrets(client, secrets, { overwrite: args.overwrite });
        return;
      }
      const yaml = secrets.map((s) => stringify(s)).join("---\n");
      if (args.out) {
        writeFilesAtomically([{ path: args.out, content: yaml, mode: 0o600 }], { overwrite: args.overwrite });
        process.stdout.write(`wrote ${secrets.length} Secrets to ${args.out} (0600)\n`);
      } else {
        process.stdout.write(yaml);
      }
    }),
});

const issue = defineCommand({
  meta: { name: "issue", description: "issue another leaf certificate from an existing CA directory" },
  args: {
    dir: { type: "string", default: "certs", description: "the certificates directory (with ca.crt and ca.key)" },
    name: { type: "string", required: true, description: "the leaf's name: its folder under --dir and its common name" },
    usage: { type: "string", default: "client", description: "server, client or both" },
    "dns-name": { type: "string", description: "DNS SANs (repeatable, comma-separated)" },
    "ip-address": { type: "string", description: "IP SANs (repeatable, comma-separated)" },
    ...common,
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(args.name)) throw new CliError(`--name must be a DNS label-like name, got ${JSON.stringify(args.name)}`);
      const { current, bundlePem } = await loadCa(args.dir);
      const pair = await issueLeaf(current, {
        commonName: args.name,
        usage: choiceFlag("usage", args.usage, ["server", "client", "both"] as const),
        dnsNames: listFlag(args["dns-name"]),
        ipAddresses: listFlag(args["ip-address"]),
        keyAlgorithm: choiceFlag("key-algorithm", args["key-algorithm"], keyAlgorithms),
        validityDays: intFlag("leaf-days", args["leaf-days"], 1, 3650),
      });
      log.debug(`issued ${describe(pair.certificatePem)} from CA ${describe(current.certificatePem)}`);
      writeFilesAtomically(identityFiles(join(args.dir, args.name), pair, bundlePem), { overwrite: args.overwrite });
      process.stdout.write(`wrote ${join(args.dir, args.name)}/{ca.crt,tls.crt,tls.key}\n`);
    }),
});

const rotate = defineCommand({
  meta: { name: "rotate", description: "renew leaves before they expire; roll the CA over with both CAs trusted during the overlap" },
  args: {
    dir: { type: "string", default: "certs", description: "the certificates directory" },
    "before-days": { type: "string", default: "30", description: "renew leaves with fewer days left than this" },
    force: { type: "boolean", default: false, description: "renew every leaf now" },
    "rotate-ca": { type: "boolean", default: false, description: "start a CA rollover: new CA, new leaves, old CA still trusted" },
    "finish-ca-rollover": { type: "boolean", default: false, description: "stop trusting every CA but the current one" },
    identities: { type: "string", description: "the leaves to look at (folders under --dir; default: every folder holding a tls.crt)" },
    "ca-days": { type: "string", default: "3650", description: "lifetime of a new CA, in days" },
    "key-algorithm": common["key-algorithm"],
    "leaf-days": common["leaf-days"],
    ...logArgs,
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      if (args["rotate-ca"] && args["finish-ca-rollover"]) throw new CliError("--rotate-ca and --finish-ca-rollover cannot be given together");
      const plan = await planRotation(args.dir, {
        beforeDays: intFlag("before-days", args["before-days"], 0, 3650),
        force: args.force,
        rotateCa: args["rotate-ca"],
        finishRollover: args["finish-ca-rollover"],
        keyAlgorithm: choiceFlag("key-algorithm", args["key-algorithm"], keyAlgorithms) as KeyAlgorithm,
        caDays: intFlag("ca-days", args["ca-days"], 1, 36500),
        leafDays: intFlag("leaf-days", args["leaf-days"], 1, 3650),
        identities: args.identities === undefined ? leafFolders(args.dir) : listFlag(args.identities),
      });
      log.debug(plan.files.length > 0 ? `writing ${plan.files.map((f) => f.path).join(", ")}` : "nothing to write");
      if (plan.files.length > 0) writeFilesAtomically(plan.files, { overwrite: true });
      process.stdout.write(`${plan.actions.join("\n")}\n`);
    }),
});

/** The leaf folders under a certificates directory: agent and envoy, and any from `certs issue`. */
function leafFolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, "tls.crt")))
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}

const inspect = defineCommand({
  meta: { name: "inspect", description: "show certificates and check their chain; exit 1 when any is expired, invalid or expiring soon" },
  args: {
    paths: { type: "positional", required: false, description: "certificate files or a certificates directory (default: certs)" },
    "ca-file": { type: "string", description: "CA bundle to check single files against" },
    "warn-days": { type: "string", default: "30", description: "exit non-zero when a certificate has fewer days left than this" },
    output: { type: "string", default: "text", valueHint: "FORMAT", description: "text or json" },
    ...logArgs,
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      const output = choiceFlag("output", args.output, ["text", "json"] as const);
      const paths = listFlag(args._.length > 0 ? args._ : (args.paths ?? "certs"));
      const results = await inspectPaths(paths, { caFile: args["ca-file"], warnDays: intFlag("warn-days", args["warn-days"], 0, 36500) });
      process.stdout.write(output === "json" ? `${JSON.stringify(results, null, 2)}\n` : `${formatInspection(results)}\n`);
      return results.some((r) => r.status !== "ok") ? 1 : 0;
    }),
});

export default defineCommand({
  meta: { name: "certs", description: "create, issue, rotate and inspect the certificates between the agent and Envoy; Contour's certgen flags (--kube, --yaml, --pem) make Contour's Secrets" },
  args: { ...certgenArgs, ...logArgs },
  subCommands: { init, issue, rotate, inspect },
  run: ({ args }) =>
    runCommand(async () => {
      // citty runs this after a subcommand too: that one has done the work.
      if (args._.length > 0) return;
      logFlags(args, { toStderr: true });
      if (!(await runCertgen(args))) throw new CliError("`agent certs` needs a command: one of init, issue, rotate, inspect (or Contour's certgen flags --kube, --yaml or --pem) (see `agent certs --help`)");
    }),
});
