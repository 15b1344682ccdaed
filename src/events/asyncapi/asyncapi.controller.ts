import { Controller, Get, Header } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Public } from '../../common/auth/auth.decorators.js';
import type { AppConfig } from '../../config/app-config.js';
import { buildAsyncApiDocument } from './asyncapi.builder.js';

/** The event contract, beside the OpenAPI document: GET /docs/asyncapi.json (public). */
@ApiTags('docs')
@Public()
// like /docs and /docs-json (served outside Nest's guards): documents are not rate limited
@SkipThrottle()
@Controller('docs')
export class AsyncApiController {
  private readonly document: Record<string, unknown>;

  constructor(config: ConfigService<AppConfig, true>) {
    const nats = config.get('nats', { infer: true });
    this.document = buildAsyncApiDocument({
      serviceName: config.get('serviceName', { infer: true }),
      version: config.get('version', { infer: true }),
      subjectPrefix: nats.subjectPrefix,
      stream: nats.stream,
      natsUrl: nats.url,
    });
  }

  @Get('asyncapi.json')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({
    summary: 'AsyncAPI 3 document of the events this service publishes and consumes',
    description: 'Channels (NATS subjects), envelopes and payload schemas, generated from the event classes.',
  })
  @ApiOkResponse({
    description: 'the AsyncAPI document',
    schema: { type: 'object', example: { asyncapi: '3.0.0', info: { title: 'product_service events', version: '1.0.0' }, channels: {} } },
  })
  asyncapi(): Record<string, unknown> {
    return this.document;
  }
}
