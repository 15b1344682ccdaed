import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Registry } from 'prom-client';
import { Public } from '../common/auth/auth.decorators.js';

@ApiTags('health')
@Public()
// scrapes must answer under any load
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description:
      'HTTP latency histograms by route and status, events published / handled / failed / dead-lettered / parked by type, outbox backlog and age, group commits, client calls and circuits, DB pool, process metrics. For scrapers; public like the probes.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'the metrics as Prometheus text', schema: { type: 'string', example: 'product_outbox_backlog 0\n' } })
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
