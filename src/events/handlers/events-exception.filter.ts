import { type ArgumentsHost, Catch, type RpcExceptionFilter } from '@nestjs/common';
import { type Observable, throwError } from 'rxjs';
import { classifyEventError, type EventOutcome } from './event-outcome.js';

/**
 * The RPC side of "one filter per transport": turns whatever an event handler throws into an
 * EventOutcome (ack / retry / dead-letter) that the JetStream transport acts on.
 */
@Catch()
export class EventsExceptionFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    const outcome: EventOutcome = classifyEventError(exception);
    return throwError(() => outcome);
  }
}
