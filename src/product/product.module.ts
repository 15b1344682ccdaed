import { Module } from '@nestjs/common';
import { InfoController } from './info/info.controller.js';

/** Business logic: catalog, plans, subscriptions, usage, lifecycle sweeper. */
@Module({
  controllers: [InfoController],
})
export class ProductModule {}
