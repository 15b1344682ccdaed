import type { JsMsg } from '@nats-io/jetstream';
import { BaseRpcContext } from '@nestjs/microservices';
import type { InboundEvent } from '../models/envelope.js';

/** What `@Ctx()` gives a JetStream event handler: the subject, the raw message and the decoded event. */
export class JetStreamContext extends BaseRpcContext<[string, JsMsg, InboundEvent]> {
  getSubject(): string {
    return this.args[0];
  }

  getMessage(): JsMsg {
    return this.args[1];
  }

  getEvent(): InboundEvent {
    return this.args[2];
  }

  /** 1 on the first delivery */
  getDeliveryCount(): number {
    return this.args[1].info.deliveryCount;
  }
}
