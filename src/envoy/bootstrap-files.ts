// The files `agent bootstrap` writes, checked the way Envoy would check them: the bootstrap JSON and,
// with mTLS, the SDS resource files it points at. `agent serve --envoy` writes its own Envoy's
// bootstrap with the same function, so both always agree.
import { hostname } from "node:os";
import type { FileToWrite } from "../certs/files.ts";
import { type BootstrapOptions, bootstrapConfig, sdsResourceFiles } from "./bootstrap.ts";
import { checkBootstrap } from "./bootstrap-check.ts";

/** Envoy's node id and cluster when not given: the pod's ($POD_NAME, $POD_NAMESPACE), else the host's. */
export function defaultNode(env: Record<string, string | undefined> = process.env): { nodeId: string; nodeCluster: string } {
  return { nodeId: env.POD_NAME ?? hostname(), nodeCluster: env.POD_NAMESPACE ? `${env.POD_NAMESPACE}/envoy` : "envoy" };
}

/** The bootstrap (at `path`, first) and its SDS files; throws when Envoy's rules would refuse them. */
export function bootstrapFiles(options: BootstrapOptions, path: string): FileToWrite[] {
  const config = bootstrapConfig(options);
  const sds = options.tls ? sdsResourceFiles(options.tls) : [];
  checkBootstrap(config, sds);
  return [
    { path, content: `${JSON.stringify(config, null, 2)}\n`, mode: 0o644 },
    ...sds.map(({ file, content }) => ({ path: file, content: `${JSON.stringify(content, null, 2)}\n`, mode: 0o644 })),
  ];
}
