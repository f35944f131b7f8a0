// The citty root command: `agent` and its subcommands, each loaded lazily so `agent --version` does
// not load the xDS server. Apart from main.ts so that tests parse command lines exactly as the
// binary does (`argvProblem(rootCommand, argv)`).
import { defineCommand } from "citty";
import { version } from "../base/version.ts";

export const rootCommand = defineCommand({
  meta: { name: "agent", version, description: "isobar: Kubernetes routing objects in, Envoy xDS out" },
  subCommands: {
    serve: () => import("./serve.ts").then((m) => m.default),
    xds: () => import("./xds.ts").then((m) => m.default),
    certs: () => import("./certs.ts").then((m) => m.default),
    // Contour's name for it, so the certgen Job's `contour certgen --kube …` runs unchanged.
    certgen: () => import("./certs.ts").then((m) => ({ ...m.default, meta: { name: "certgen", description: "Contour's name for `agent certs`: its certgen flags (--kube, --yaml, --pem, …)" } })),
    bootstrap: () => import("./bootstrap.ts").then((m) => m.default),
    validate: () => import("./validate.ts").then((m) => m.default),
    envoy: () => import("./envoy.ts").then((m) => m.default),
  },
});
