import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InternalOnly } from '../common/auth/auth.decorators.js';
import { sendPage } from '../common/pagination/send-page.js';
import type { AuditEntryView } from './audit-trail.service.js';
import { AuditTrail } from './audit-trail.service.js';
import { ListAuditQuery } from './dto/audit.dto.js';

const error = (code: string, message: string) => ({
  schema: { example: { error: { code, message, request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11' }, detail: message } },
});

export const AUDIT_ENTRY_EXAMPLE: AuditEntryView = {
  audit_id: '5b0c7a9e-2f4d-4c1a-8e3b-9d6f1a2b3c4d',
  at: '2026-11-25T10:00:00.000Z',
  principal: { kind: 'internal', id: null },
  action: 'retire',
  resource_type: 'product',
  resource_id: 'gpt-4o-mini',
  before: { product_id: 'gpt-4o-mini', is_active: true },
  after: { product_id: 'gpt-4o-mini', is_active: false },
  request_id: '7f1c2e0a-5b1e-4a43-9a37-1d3e7c1f0b11',
};

/** GET /admin/audit: the audit trail, internal callers only. */
@ApiTags('admin')
@ApiSecurity('internal')
@InternalOnly()
@Controller('admin/audit')
export class AuditController {
  constructor(private readonly audit: AuditTrail) {}

  @Get()
  @ApiOperation({
    summary: 'The audit trail of catalog, admin and cost-definition writes, newest first, keyset-paged (internal services only)',
    description:
      '`before` / `after` are the resource as the API shows it (null for a create / before a create). `start` / `end` bound `at`: [start, end).',
  })
  @ApiOkResponse({
    headers: {
      Link: { description: 'next page (only when more rows exist)', schema: { type: 'string' } },
      'X-Next-Cursor': { description: 'opaque cursor of the next page', schema: { type: 'string' } },
    },
    schema: { type: 'array', items: { type: 'object' }, example: [AUDIT_ENTRY_EXAMPLE] },
  })
  @ApiBadRequestResponse(error('VALIDATION_ERROR', 'Request validation failed'))
  @ApiUnauthorizedResponse(error('UNAUTHORIZED', 'Internal service credentials required'))
  @ApiForbiddenResponse(error('FORBIDDEN', 'This endpoint is for internal services only'))
  async list(
    @Query() query: ListAuditQuery,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuditEntryView[]> {
    return sendPage(req, reply, await this.audit.list(query));
  }
}
