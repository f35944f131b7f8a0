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
 * An HTTPRoute's head, up to its rules (each file lists its own): `name` in `namespace`, attached
 * to the Gateway by `parentRef` (a YAML flow map), for `hostname`.
 */
export const httpRouteHead = (route: { name: string; namespace: string; parentRef: string; hostname: string }) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${route.name}, namespace: ${route.namespace} }
spec:
  parentRefs: [${route.parentRef}]
  hostnames: [${route.hostname}]
  rules:
`;
