import { Module } from '@nestjs/common';

/** Event models, publishers (outbox), relay to JetStream and @EventPattern handlers. */
@Module({})
export class EventsModule {}
