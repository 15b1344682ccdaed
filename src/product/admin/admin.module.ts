import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CatalogModule } from '../catalog/catalog.module.js';
import { CostsModule } from '../costs/costs.module.js';
import { CatalogAlignmentService } from './catalog-alignment.service.js';
import { AdminCatalogController } from './controllers/admin-catalog.controller.js';

/**
 * The admin routes under /admin (internal only) that work over the catalog: product create,
 * replace, retire, pricing and one tier row (through the catalog's own services and rules), and the
 * catalog-alignment check (catalog + cost definitions). The cost-definition routes live with their
 * feature (CostsModule), the audit list with the audit trail (AuditModule).
 */
@Module({
  imports: [CatalogModule, CostsModule, IdempotencyModule],
  controllers: [AdminCatalogController],
  providers: [CatalogAlignmentService],
})
export class AdminModule {}
