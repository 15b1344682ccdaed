import { Injectable } from '@nestjs/common';
import { AuditTrail } from '../../../audit/audit-trail.service.js';
import type { CallContext } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { type JsonView, jsonView } from '../../../common/http/json-view.js';
import { DEFAULT_LIMIT, decodeCursor, pageHeaders, pageOf } from '../../../common/pagination/page.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog.errors.js';
import { CatalogRepository } from '../catalog.repository.js';
import { CatalogStore } from '../catalog-store.js';
import type { CreateCategoryDto, ListPageQueryDto } from '../dto/category.dto.js';
import { type CategoryResponse, toCategoryResponse } from '../mappers/catalog.mappers.js';
import { CatalogWrites } from './catalog-writes.js';

@Injectable()
export class CategoryService {
  constructor(
    private readonly writes: CatalogWrites,
    private readonly repo: CatalogRepository,
    private readonly store: CatalogStore,
    private readonly events: EventPublisher,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
  ) {}

  /** Active categories by display_order (then id), keyset-paged, from the in-memory catalog. */
  listView(query: ListPageQueryDto, requestUrl: string): JsonView {
    const snapshot = this.store.current;
    return snapshot.view(`categories ${requestUrl}`, () => {
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = decodeCursor(query.cursor, ['number', 'string']) as [number, string] | undefined;
      const rows = snapshot.categories
        .filter((c) => c.isActive && (!after || c.displayOrder > after[0] || (c.displayOrder === after[0] && c.categoryId > after[1])))
        .slice(0, limit + 1);
      const page = pageOf(rows, limit, toCategoryResponse, (c) => [c.displayOrder, c.categoryId]);
      return jsonView(page.items, pageHeaders(requestUrl, page.nextCursor));
    });
  }

  create(dto: CreateCategoryDto, ctx: CallContext): Promise<CategoryResponse> {
    return this.writes.run(async (tx) => {
      const inserted = await this.repo.insertCategory(
        tx,
        {
          category_id: dto.category_id,
          name: dto.name,
          description: dto.description ?? null,
          display_order: dto.display_order ?? 0,
          is_active: dto.is_active ?? true,
        },
        this.clock.now(),
      );
      if (!inserted) throw CatalogErrors.categoryExists(dto.category_id);
      await this.events.publishCatalogChanged(tx, { entity: 'category', id: dto.category_id, change: 'created' }, ctx);
      const after = toCategoryResponse((await this.repo.findCategory(tx, dto.category_id))!);
      await this.audit.record(tx, { action: 'create', resourceType: 'category', resourceId: dto.category_id, before: null, after }, ctx);
      return after;
    });
  }
}
