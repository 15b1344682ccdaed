import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventPublisher } from '../publishers/event.publisher.js';
import { OutboxEventEntity } from './outbox-event.entity.js';
import { OutboxSignal } from './outbox.signal.js';
import { OutboxStats } from './outbox.stats.js';
import { OutboxRepository } from './outbox.repository.js';

/**
 * The writing half of the events module, imported by every feature that changes state: the
 * publishers (one method per event type, each writing the event to the outbox in the caller's
 * transaction), the outbox table, the in-process "committed" signal and the backlog stats. The
 * relay that empties the outbox lives in EventsModule.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OutboxEventEntity])],
  providers: [OutboxRepository, EventPublisher, OutboxSignal, OutboxStats],
  exports: [OutboxRepository, EventPublisher, OutboxSignal, OutboxStats],
})
export class OutboxModule {}
