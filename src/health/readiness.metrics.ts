import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';

/**
 * `product_ready`: 1 when the pod's last readiness check (GET /health/ready) passed, 0 when it
 * failed, 0 from start until the first probe. Set by the probe itself, so it shows what the kubelet
 * sees and costs no query of its own (outside Kubernetes nobody probes and it stays 0).
 */
@Injectable()
export class ReadinessMetrics {
  private readonly gauge: Gauge;

  constructor(registry: Registry) {
    this.gauge = new Gauge({
      name: 'product_ready',
      help: '1 when the last readiness check (GET /health/ready) passed, 0 when it failed',
      registers: [registry],
    });
    this.gauge.set(0);
  }

  record(ready: boolean): void {
    this.gauge.set(ready ? 1 : 0);
  }
}
