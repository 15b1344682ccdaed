import { Registry } from 'prom-client';
import { HttpMetrics } from './http-metrics.js';

describe('HttpMetrics', () => {
  it("should print prom-client's histogram exposition: cumulative buckets, +Inf, _sum and _count per label set", async () => {
    const registry = new Registry();
    const metrics = new HttpMetrics(registry);
    const route = { url: '/api/v1/product/products/:product_id' };
    metrics.observe('GET', route, 200, 0.0004);
    metrics.observe('GET', route, 200, 0.003);
    metrics.observe('GET', route, 404, 20);
    metrics.observe('GET', undefined, 404, 0.002);
    const text = await registry.metrics();
    const labels = 'method="GET",route="/api/v1/product/products/:product_id",status_code="200"';
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toContain(`http_request_duration_seconds_bucket{le="0.001",${labels}} 1`);
    expect(text).toContain(`http_request_duration_seconds_bucket{le="0.0025",${labels}} 1`);
    expect(text).toContain(`http_request_duration_seconds_bucket{le="0.005",${labels}} 2`);
    expect(text).toContain(`http_request_duration_seconds_bucket{le="+Inf",${labels}} 2`);
    expect(text).toContain(`http_request_duration_seconds_sum{${labels}} 0.0034`);
    expect(text).toContain(`http_request_duration_seconds_count{${labels}} 2`);
    // above every bound: only in +Inf
    const slow = 'method="GET",route="/api/v1/product/products/:product_id",status_code="404"';
    expect(text).toContain(`http_request_duration_seconds_bucket{le="10",${slow}} 0`);
    expect(text).toContain(`http_request_duration_seconds_bucket{le="+Inf",${slow}} 1`);
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1');
  });

  it('should keep one series per label set when two routes share a pattern', async () => {
    const registry = new Registry();
    const metrics = new HttpMetrics(registry);
    metrics.observe('GET', { url: '/x' }, 200, 0.001);
    metrics.observe('GET', { url: '/x' }, 200, 0.001);
    const text = await registry.metrics();
    expect(text.match(/http_request_duration_seconds_count\{[^}]*\}/g)).toEqual([
      'http_request_duration_seconds_count{method="GET",route="/x",status_code="200"}',
    ]);
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/x",status_code="200"} 2');
  });
});
