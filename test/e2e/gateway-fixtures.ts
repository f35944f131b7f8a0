// What every Gateway API e2e file starts its manifests with: the GatewayClass of isobar's controller
// and the Gateway infra/web of that class, up to its listeners (each file lists its own).
export const GATEWAY_HEAD = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: contour }
spec: { controllerName: projectcontour.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: infra }
spec:
  gatewayClassName: contour
  listeners:
`;
