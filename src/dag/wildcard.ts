// Wildcard hosts (`*.example.com`) for every processor: Envoy's `*.` domain matches any number of
// labels, Kubernetes and Contour mean exactly one, so each route on a wildcard host carries this match.
import type { HeaderMatch } from "./types.ts";

/** Contour's wildcardDomainHeaderMatch: an :authority regex pinning `*.domain` to one label (any port). */
export function wildcardAuthorityMatch(fqdn: string): HeaderMatch {
  const suffix = fqdn.slice(1).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return { name: ":authority", match: { kind: "regex", value: `^[a-z0-9]([-a-z0-9]*[a-z0-9])?${suffix}(:[0-9]+)?$` } };
}
