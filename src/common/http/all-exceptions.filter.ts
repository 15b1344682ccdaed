import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../errors/domain-error.js';
import { noteErrorCode } from '../logging/request-logging.js';
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
    // the request's one log line says which error it answered (an expected 5xx, a dependency down,
    // needs nothing more: its code says what); an unexpected one is logged with its stack as well
    noteErrorCode(req, body.error.code);
    if (status >= 500 && !(exception instanceof DomainError)) {
      this.logger.error({ err: exception, request_id: req.id }, 'Unhandled error while serving request');
    }
    // no error is kept by a cache (a catalog read that failed had not set its public Cache-Control yet)
    void reply.header('Cache-Control', NO_STORE);
    if (headers) void reply.headers(headers);
    void reply.status(status).send(body);
  }
}
