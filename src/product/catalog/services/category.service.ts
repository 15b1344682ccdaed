import { Injectable } from '@nestjs/common';
import type { CallContext } from '../../../common/auth/principal.js';
import { Clock } from '../../../common/clock/clock.js';
import { conflict, ErrorCode } from '../../../common/errors/domain-error.js';
import { DEFAULT_LIMIT, decodeCursor, type Page, pageOf } from '../../../common/pagination/page.js';
import { UnitOfWork } from '../../../database/unit-of-work.js';
import { EventPublisher } from '../../../events/publishers/event.publisher.js';
import type { CreateCategoryDto, ListPageQueryDto } from '../dto/category.dto.js';
import { CategoryEntity } from '../entities/category.entity.js';
import { type CategoryResponse, toCategoryResponse } from '../mappers/catalog.mappers.js';
import { CatalogRepository } from './catalog.repository.js';

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
    const after = decodeCursor(query.cursor, ['number', 'string']);
    const rows = await this.uow.read(({ manager }) => {
      const qb = manager.createQueryBuilder(CategoryEntity, 'c').where('c.is_active = true');
      if (after) qb.andWhere('(c.display_order, c.category_id) > (:order, :id)', { order: after[0], id: after[1] });
      return qb
        .orderBy('c.display_order', 'ASC')
        .addOrderBy('c.category_id', 'ASC')
        .limit(limit + 1)
        .getMany();
    });
    return pageOf(rows, limit, toCategoryResponse, (c) => [c.displayOrder, c.categoryId]);
  }

  async create(dto: CreateCategoryDto, ctx: CallContext): Promise<CategoryResponse> {
    return this.uow.run(async (tx) => {
      const inserted = await this.repo.insertCategory(
        tx.manager,
        {
          category_id: dto.category_id,
          name: dto.name,
          description: dto.description ?? null,
          display_order: dto.display_order ?? 0,
          is_active: dto.is_active ?? true,
        },
        this.clock.now(),
      );
      if (!inserted) throw conflict(ErrorCode.CATEGORY_EXISTS, `Category ${dto.category_id} already exists`);
      await this.events.publishCatalogChanged(tx, { entity: 'category', id: dto.category_id, change: 'created' }, ctx);
      return toCategoryResponse(await tx.manager.findOneByOrFail(CategoryEntity, { categoryId: dto.category_id }));
    });
  }
}
