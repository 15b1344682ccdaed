import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { type CallContext, systemContext } from '../../common/auth/principal.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { AppConfig } from '../../config/app-config.js';
import { type GroupCommitQueue, GroupCommits } from '../../database/group-commit.js';
import { type Tx, UnitOfWork } from '../../database/unit-of-work.js';
import { InboxRepository } from '../inbox/inbox.repository.js';
import type { InboundEvent } from '../models/envelope.js';

/** A consumed event with what its handler read out of the data, and the call context of its effects. */
export interface GroupedEvent<P> {
  event: InboundEvent;
  payload: P;
  /** system call context: request_id from the event's metadata, correlation_id = the event's id */
  call: CallContext;
}

/** What applying one event did, for its log line: `changed` rows, and anything worth logging. */
export type Applied = Record<string, unknown> & { changed: number };

/** Applies the claimed events of a group, in the order given, inside `tx`; one answer per event. */
export type ApplyGroup<P> = (tx: Tx, events: readonly GroupedEvent<P>[]) => Promise<Applied[]>;

/** Queues per event type that has a key (see EventGroups). */
export const GROUP_SHARDS = 2;

/** The queue of a key among `shards` (FNV-1a over its UTF-16 code units): one key, always one queue. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % shards;
}

/** One consumed event type's group commit: `apply` resolves once the event's group has committed. */
export interface EventGroup<P> {
  /** `delivery`: the message's delivery count, for the log line */
  apply(event: InboundEvent, payload: P, delivery: number): Promise<void>;
}

/**
 * Consumed events applied in groups (group commit, as for usage records). The handlers of one event
 * type hand their events to that type's group; everything that arrives while the previous group
 * commits (at most EVENTS_CONSUMER_BATCH events) is applied in ONE transaction: one inbox insert
 * for all the ids (a redelivered or duplicated id is not claimed and its event does nothing), then
 * the type's `apply` with the claimed events, which writes their effects and the events those
 * effects publish with set-based statements. A handler's promise settles after the COMMIT, so the
 * message is acknowledged only once its effect is durable.
 *
 * Order: a type's events are spread over GROUP_SHARDS queues by a key (the subscription or the
 * user they concern; no key: one queue); each queue commits one group at a time, its events in
 * the order the handlers submitted them (the order the consumer received them), so two events
 * about one subscription or user apply in stream order. Two queues of a type commit at once, one
 * preparing or applying while the other waits for PostgreSQL: one serial queue had left the service
 * idle a third of the time in the inbound benchmark. Their groups lock disjoint subscriptions.
 * Isolation: a group whose transaction fails is split and each event applied alone
 * (GroupCommitQueue), so the failure lands on the event that causes it (its handler fails, and the
 * message is retried or dead-lettered) and the others commit; a database that cannot answer fails
 * them all at once.
 */
/**
 * An event's key in the inbox: its id, or for bare data (no envelope: its id is the NATS stream
 * sequence, SPEC section 3) that sequence in a namespace of its own, so an envelope whose id happens
 * to be a number ("2428") and the bare message stored at sequence 2428 are two events, not one
 * (the second had been dropped as a duplicate).
 */
const inboxId = (event: InboundEvent): string => (event.raw ? `nats-seq:${event.id}` : event.id);

@Injectable()
export class EventGroups {
  private readonly logger = new Logger('EventHandlers');
  private readonly maxSize: number;
  private readonly queues: GroupCommitQueue<never, unknown>[] = [];

  constructor(
    private readonly uow: UnitOfWork,
    private readonly inbox: InboxRepository,
    config: ConfigService<AppConfig, true>,
    private readonly groupCommits: GroupCommits,
  ) {
    this.maxSize = config.get('nats', { infer: true }).consumerBatchSize;
  }

  /** Groups committed so far (every type), the events in them, groups split after a failure, the largest group (metrics, tests). */
  get stats(): Readonly<{ groups: number; items: number; splits: number; largest: number }> {
    const total = { groups: 0, items: 0, splits: 0, largest: 0 };
    for (const { stats } of this.queues) {
      total.groups += stats.groups;
      total.items += stats.items;
      total.splits += stats.splits;
      total.largest = Math.max(total.largest, stats.largest);
    }
    return total;
  }

  /**
   * The group commit of one event type. `keyOf`: what an event concerns (a subscription id, a user
   * id), whose events must apply in the order received; events with one key go to one queue.
   */
  create<P>(type: string, apply: ApplyGroup<P>, keyOf?: (payload: P) => string): EventGroup<P> {
    const queues = Array.from({ length: keyOf ? GROUP_SHARDS : 1 }, () => {
      const queue = this.groupCommits.create<GroupedEvent<P>, Applied | undefined>(`event:${type}`, {
        maxSize: this.maxSize,
        maxWaitMs: 0,
        // one group at a time per queue: events about one subscription or user apply in the order received
        concurrency: 1,
        sizeOf: () => 1,
        commit: (events) => this.commit(type, events, apply),
        shouldSplit: (err) => !(err instanceof DomainError && err.kind === 'unavailable'),
      });
      this.queues.push(queue as unknown as GroupCommitQueue<never, unknown>);
      return queue;
    });
    return {
      apply: async (event, payload, delivery) => {
        const grouped: GroupedEvent<P> = { event, payload, call: systemContext(event.metadata.request_id ?? '', event.id) };
        const queue = keyOf ? queues[shardOf(keyOf(payload), queues.length)] : queues[0];
        this.log(event, delivery, await queue.submit(grouped));
      },
    };
  }

  private async commit<P>(type: string, events: readonly GroupedEvent<P>[], apply: ApplyGroup<P>) {
    const answers = await this.uow.run(async (tx) => {
      const claimed = await this.inbox.claim(
        tx,
        events.map((e) => ({ id: inboxId(e.event), type })),
      );
      // an id given twice in one group is claimed by its first occurrence only
      const fresh = events.filter((e) => claimed.delete(inboxId(e.event)));
      const applied = fresh.length > 0 ? await apply(tx, fresh) : [];
      const byEvent = new Map(fresh.map((e, i) => [e, applied[i]]));
      return events.map((e) => byEvent.get(e));
    });
    return answers.map((value) => ({ ok: true as const, value }));
  }

  private log(event: InboundEvent, delivery: number, outcome: Applied | undefined): void {
    const line = {
      event_id: event.id,
      type: event.type,
      source: event.source,
      stream_seq: event.streamSequence,
      delivery,
      request_id: event.metadata.request_id ?? null,
      correlation_id: event.id,
      ...(event.metadata.correlation_id ? { caused_by: event.metadata.correlation_id } : {}),
      ...(event.raw ? { raw: true } : {}),
    };
    if (outcome === undefined) this.logger.log(line, 'Event already handled (duplicate); nothing done');
    else this.logger.log({ ...line, ...outcome }, outcome.changed > 0 ? 'Event handled' : 'Event handled; nothing to change');
  }
}
