// What every Gateway API e2e file starts its manifests with: the GatewayClass of isobar's controller
// and the Gateway web of that class in `namespace`, up to its listeners (each file lists its own).
export const gatewayHead = (namespace: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: contour }
spec: { controllerName: projectcontour.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: ${namespace} }
spec:
  gatewayClassName: contour
  listeners:
`;

/** The head most files use: the Gateway infra/web. */
export const GATEWAY_HEAD = gatewayHead("infra");

/**
 * An HTTPRoute's head, up to its rules (each file lists its own): `name` in `namespace`, with
 * `parentRefs` and `hostnames` the contents of those YAML flow lists.
 */
export const httpRouteHead = (route: { name: string; namespace: string; parentRefs: string; hostnames: string }) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${route.name}, namespace: ${route.namespace} }
spec:
  parentRefs: [${route.parentRefs}]
  hostnames: [${route.hostnames}]
  rules:
`;
