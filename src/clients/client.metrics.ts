import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import type { CircuitStatus } from './resilience.js';

export type DownstreamService = 'account_service' | 'organization_service';

/**
 * Outcome of one outgoing request (an HTTP attempt), or of a call answered without one
 * (`cache_hit`, `circuit_open`).
 */
export type ClientOutcome =
  'success' | 'not_found' | 'client_error' | 'server_error' | 'timeout' | 'network_error' | 'circuit_open' | 'cache_hit';

const CIRCUIT_VALUE: Record<CircuitStatus, number> = { closed: 0, half_open: 1, open: 2 };

/** `product_client_requests_total{service,outcome}` and `product_client_circuit_state{service}`. */
@Injectable()
export class ClientMetrics {
  private readonly requests: Counter<'service' | 'outcome'>;
  private readonly circuit: Gauge<'service'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'product_client_requests_total',
      help: 'Outgoing requests to the account and organization services, by outcome (each attempt counts)',
      labelNames: ['service', 'outcome'],
      registers: [registry],
    });
    this.circuit = new Gauge({
      name: 'product_client_circuit_state',
      help: 'Circuit breaker state per downstream service: 0 closed, 1 half-open, 2 open',
      labelNames: ['service'],
      registers: [registry],
    });
  }

  record(service: DownstreamService, outcome: ClientOutcome): void {
    this.requests.inc({ service, outcome });
  }

  setCircuit(service: DownstreamService, state: CircuitStatus): void {
    this.circuit.set({ service }, CIRCUIT_VALUE[state]);
  }
}
