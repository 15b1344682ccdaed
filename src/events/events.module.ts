import { Global, Module } from '@nestjs/common';
import { EventPublisher } from './publishers/event.publisher.js';

/** Event models, publishers (outbox), relay to JetStream and @EventPattern handlers. */
@Global()
@Module({
  providers: [EventPublisher],
  exports: [EventPublisher],
})
export class EventsModule {}
