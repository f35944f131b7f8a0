// A Service and an Ingress routing `NAME.example.com` to it, both in `default`: the smallest valid
// input for tests that only need some route configuration to be served.

/** YAML of Service `default/NAME` and an Ingress for `NAME.example.com` to its port 80. */
export function serviceAndIngress(name: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: ${name}.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: ${name}, port: { number: 80 } } } }
`;
}
