import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../../audit/audit.module.js';
import { OutboxModule } from '../../events/outbox/outbox.module.js';
import { IdempotencyModule } from '../../idempotency/idempotency.module.js';
import { CostDefinitionsController } from './controllers/cost-definitions.controller.js';
import { CostLookupController } from './controllers/cost-lookup.controller.js';
import { CostDefinitionStore } from './cost-definition-store.js';
import { CostDefinitionEntity } from './cost-definition.entity.js';
import { CostDefinitionRepository } from './cost-definition.repository.js';
import { CostDefinitionService } from './cost-definition.service.js';

/**
 * What a unit costs the platform (provider cost definitions, with history): the internal admin API,
 * the lookup, and the in-memory definitions (CostDefinitionStore) the usage recorder prices each
 * record's provider cost with. A lowest feature: it imports no other one.
 */
@Module({
  imports: [TypeOrmModule.forFeature([CostDefinitionEntity]), OutboxModule, IdempotencyModule, AuditModule],
  controllers: [CostDefinitionsController, CostLookupController],
  providers: [CostDefinitionRepository, CostDefinitionStore, CostDefinitionService],
  exports: [CostDefinitionStore],
})
export class CostsModule {}
