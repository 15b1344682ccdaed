import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error.js';
import { toHttpError } from './error-response.js';
import { NO_STORE } from './http-edge.js';

/** The one HTTP exception filter: every error leaves as the SPEC error body. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const { status, body, headers } = toHttpError(exception, String(req.id));
    if (status >= 500 && exception instanceof DomainError) {
      // an expected answer (a dependency is down): say what, without a stack trace
      this.logger.warn({ code: body.error.code, request_id: req.id }, exception.message);
    } else if (status >= 500) {
      this.logger.error({ err: exception, request_id: req.id }, 'Unhandled error while serving request');
    }
    // no error is kept by a cache (a catalog read that failed had not set its public Cache-Control yet)
    void reply.header('Cache-Control', NO_STORE);
    if (headers) void reply.headers(headers);
    void reply.status(status).send(body);
  }
}
