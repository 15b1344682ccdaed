import { Controller, Get, Header } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../../common/auth/auth.decorators.js';
import type { AppConfig } from '../../config/app-config.js';
import { buildAsyncApiDocument } from './asyncapi.builder.js';

/** The event contract, beside the OpenAPI document: GET /docs/asyncapi.json (public). */
@ApiExcludeController()
@Public()
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
  asyncapi(): Record<string, unknown> {
    return this.document;
  }
}
