import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

/** deploy/k8s read as Kubernetes would: the pieces must fit each other (no cluster runs here). */
const K8S = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'k8s');
const read = <T>(file: string): T => parseYaml(readFileSync(join(K8S, file), 'utf8')) as T;

interface Port {
  name: string;
  containerPort: number;
}
interface Deployment {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: Port[] }[] } } };
}
interface NetworkPolicy {
  spec: {
    podSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
    ingress: { from: object[]; ports: { port: string }[] }[];
  };
}

describe('deploy/k8s', () => {
  const deployments = ['deployment.yaml', 'split/worker-deployment.yaml'].map((f) => read<Deployment>(f));
  const policy = read<NetworkPolicy>('networkpolicy.yaml');

  it('should list in its kustomization only files that exist, the NetworkPolicy among them', () => {
    const { resources } = read<{ resources: string[] }>('kustomization.yaml');
    expect(resources).toContain('networkpolicy.yaml');
    for (const r of resources) expect(existsSync(join(K8S, r))).toBe(true);
  });

  it("should have the NetworkPolicy select the API's and the workers' pods, on ports they name", () => {
    const [selector] = policy.spec.podSelector.matchExpressions;
    expect(selector).toMatchObject({ key: 'app.kubernetes.io/name', operator: 'In' });
    for (const d of deployments) {
      const { labels } = d.spec.template.metadata;
      expect(selector.values).toContain(labels['app.kubernetes.io/name']);
      const named = d.spec.template.spec.containers[0].ports.map((p) => p.name);
      for (const rule of policy.spec.ingress) for (const { port } of rule.ports) expect(named).toContain(port);
    }
  });

  it('should serve the API and the probes on the ports the ConfigMap gives the service', () => {
    const { data } = read<{ data: Record<string, string> }>('configmap.yaml');
    const ports = Object.fromEntries(deployments[0].spec.template.spec.containers[0].ports.map((p) => [p.name, p.containerPort]));
    expect(ports).toEqual({ http: Number(data.PORT), health: Number(data.HEALTH_PORT) });
  });
});
