import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../../common/pagination/page.js';
import { UnitOfWork } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import { CatalogErrors } from '../catalog.errors.js';
import { CatalogRepository } from '../catalog.repository.js';
import type { CreateCategoryDto, ListPageQueryDto } from '../dto/category.dto.js';
import { type CategoryResponse, toCategoryResponse } from '../mappers/catalog.mappers.js';

@Injectable()
export class CategoryService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly repo: CatalogRepository,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
  ) {}

  /** Active categories by display_order (then id), keyset-paged. */
  async list(query: ListPageQueryDto): Promise<Page<CategoryResponse>> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, ['number', 'string']) as [number, string] | undefined;
    const rows = await this.uow.read((tx) => this.repo.listActiveCategories(tx, limit + 1, after));
    return pageOf(rows, limit, toCategoryResponse, (c) => [c.displayOrder, c.categoryId]);
  }

  async create(dto: CreateCategoryDto, ctx: CallContext): Promise<CategoryResponse> {
    return this.uow.run(async (tx) => {
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
      return toCategoryResponse((await this.repo.findCategory(tx, dto.category_id))!);
    });
  }
}
