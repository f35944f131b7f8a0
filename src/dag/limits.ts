// Limits on host names and paths from user input. Kubernetes validates an Ingress host as an RFC 1123
// subdomain (at most 253 characters, labels of at most 63); a manifest directory or a cluster
// without that validation must not let a 1 MiB host through into a route config (whose size every
// Envoy and the agent's own client pay). Paths are capped far above any real URL and far below
// Envoy's 60 KiB header limit, for the same reason.

export const maxHostLength = 253;
export const maxLabelLength = 63;
export const maxPathLength = 4096;

/** Why `host` (lower-cased, `*.` wildcard allowed) breaks the length limits, or undefined. */
export function hostLengthProblem(host: string): string | undefined {
  // A host no longer than a label breaks neither limit (most hosts): nothing to split.
  if (host.length <= maxLabelLength) return undefined;
  const name = host.replace(/\.$/, "");
  if (name.length > maxHostLength) return `longer than ${maxHostLength} characters (${name.length})`;
  const label = name.split(".").find((l) => l.length > maxLabelLength);
  if (label !== undefined) return `a label is longer than ${maxLabelLength} characters (${label.length})`;
  return undefined;
}

/** Why a path (prefix, exact or regex) is too long, or undefined. */
export function pathLengthProblem(path: string): string | undefined {
  return path.length > maxPathLength ? `longer than ${maxPathLength} characters (${path.length})` : undefined;
}

/** A user's value quoted for a message, cut after `max` characters so a huge value makes a short message. */
export function quoteBounded(value: string, max = 80): string {
  return value.length > max ? `${JSON.stringify(value.slice(0, max))}…` : JSON.stringify(value);
}
