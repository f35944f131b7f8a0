// `agent validate FILES…|DIR`: runs manifests through the same DAG, translator and validator as
// `agent serve`, offline, and prints each object's conditions (text, or --output json) and with
// --routes the route table. Exit 0 when every object is valid, 1 when any is not (or a file does
// not parse), 2 for bad flags or a path that does not exist. Parses flags and calls src/validate/.
import { defineCommand } from "citty";
import { stat } from "node:fs/promises";
import { formatJson, formatText } from "../validate/format.ts";
import { validateManifests } from "../validate/run.ts";
import { logArgs, logFlags } from "./observe-flags.ts";
import { choiceFlag, CliError, listFlag, runCommand } from "./errors.ts";
import { gatewayArgs, gatewayFlags } from "./gateway-flags.ts";
import { secretRefFlag } from "./serve.ts";

const outputs = ["text", "json"] as const;

export default defineCommand({
  meta: { name: "validate", description: "check manifests offline as `agent serve` would build them: each object's status, and with --routes the route table" },
  args: {
    paths: { type: "positional", required: false, description: "manifest files or directories (YAML/JSON)" },
    output: { type: "string", default: "text", valueHint: "FORMAT", description: "text or json" },
    routes: { type: "boolean", default: false, description: "also print the route table (host, match, backend, weight)" },
    "ingress-class-name": { type: "string", description: "ingress classes to serve (repeatable, comma-separated; default: no class or \"contour\")" },
    "root-namespaces": { type: "string", description: "namespaces where root HTTPProxies may live (default: all)" },
    "fallback-certificate": { type: "string", description: "namespace/name of the Secret served to TLS clients without SNI" },
    "enable-external-name-service": { type: "boolean", default: false, description: "allow routes to ExternalName Services (never to loopback or link-local)" },
    "allow-loopback-endpoints": { type: "boolean", default: false, description: "serve EndpointSlice addresses on loopback (127.0.0.0/8, ::1), for local development; other non-unicast addresses are never served" },
    ...gatewayArgs,
    ...logArgs,
  },
  run: ({ args }) =>
    runCommand(async () => {
      logFlags(args, { toStderr: true });
      const output = choiceFlag("output", args.output, outputs);
      const paths = (args._ as unknown[]).map(String);
      if (paths.length === 0) throw new CliError("validate needs at least one manifest file or directory");
      for (const path of paths) {
        const info = await stat(path).catch(() => undefined);
        if (!info || !(info.isFile() || info.isDirectory())) throw new CliError(`${path}: no such file or directory`);
      }
      const report = await validateManifests(paths, {
        dag: {
          ingressClassNames: listFlag(args["ingress-class-name"]),
          rootNamespaces: listFlag(args["root-namespaces"]),
          fallbackCertificate: secretRefFlag("fallback-certificate", args["fallback-certificate"]),
          enableExternalNameService: args["enable-external-name-service"],
          now: () => new Date(),
          checkCrdSchema: true,
          gateway: gatewayFlags(args),
        },
        endpoints: { allowLoopback: args["allow-loopback-endpoints"] },
      });
      const color = output === "text" && process.stdout.isTTY === true && !process.env.NO_COLOR;
      const text = output === "json" ? formatJson(report, { routes: args.routes }) : formatText(report, { color, routes: args.routes });
      await new Promise<void>((resolve) => process.stdout.write(text, () => resolve()));
      return report.valid ? 0 : 1;
    }),
});
