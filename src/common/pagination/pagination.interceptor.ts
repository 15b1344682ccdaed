import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, type Observable } from 'rxjs';
import { Page } from './page.js';

/** Turns a returned `Page` into the SPEC list shape: a JSON array, `Link` and `X-Next-Cursor`. */
@Injectable()
export class PaginationInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((value: unknown) => {
        if (!(value instanceof Page)) return value;
        const page = value as Page<unknown>;
        if (page.nextCursor !== null) {
          const http = context.switchToHttp();
          const req = http.getRequest<FastifyRequest>();
          const reply = http.getResponse<FastifyReply>();
          const url = new URL(req.url, 'http://local');
          url.searchParams.set('cursor', page.nextCursor);
          void reply.header('Link', `<${url.pathname}${url.search}>; rel="next"`);
          void reply.header('X-Next-Cursor', page.nextCursor);
        }
        return page.items;
      }),
    );
  }
}
