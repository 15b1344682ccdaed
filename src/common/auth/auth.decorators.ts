import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { CallContext, Principal } from './principal.js';

export const ACCESS_KEY = 'product:access';
export type Access = 'public' | 'authenticated' | 'internal';

/** Anyone, no credentials needed (catalog reads, /info, health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_KEY, 'public');
/** Internal services only (catalog writes, other users' data, status changes). */
export const InternalOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_KEY, 'internal');

export type AuthedRequest = FastifyRequest & { principal?: Principal };

/** The call context (request id + principal) of the current HTTP request. */
export const Ctx = createParamDecorator((_: unknown, host: ExecutionContext): CallContext => {
  const req = host.switchToHttp().getRequest<AuthedRequest>();
  return { requestId: String(req.id), principal: req.principal ?? { kind: 'anonymous' } };
});
