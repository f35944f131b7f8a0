// Checks a bootstrap and its SDS files the way Envoy would before anyone ships them: every field
// exists (the strict proto path) and every validation rule of the Bootstrap proto holds.
import { encodeStrict } from "../xds/registry.ts";
import { validateResource } from "../xds/validate.ts";

const BOOTSTRAP = "envoy.config.bootstrap.v3.Bootstrap";
const SECRET = "envoy.extensions.transport_sockets.tls.v3.Secret";

/** Throws with the first problem found. */
export function checkBootstrap(config: object, sdsFiles: Array<{ file: string; content: object }>): void {
  encodeStrict(BOOTSTRAP, config);
  const errors = validateResource(BOOTSTRAP, config);
  if (errors.length > 0) throw new Error(`bootstrap fails Envoy's validation: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
  for (const { file, content } of sdsFiles) {
    for (const resource of (content as { resources: Array<Record<string, unknown>> }).resources) {
      const { "@type": _type, ...secret } = resource;
      encodeStrict(SECRET, secret);
      const secretErrors = validateResource(SECRET, secret);
      if (secretErrors.length > 0) throw new Error(`${file} fails Envoy's validation: ${secretErrors.map((e) => `${e.path}: ${e.message}`).join("; ")}`);
    }
  }
}
