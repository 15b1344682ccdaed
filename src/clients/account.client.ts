import { Injectable } from '@nestjs/common';
import type { AccountUser, ClientCallOptions } from './client.types.js';

/**
 * Account service client. `null` = the user does not exist (404); DependencyUnavailableError =
 * unknown (timeout, 5xx, open circuit).
 * TODO(clients issue): implement on HttpService with timeout, retries, breaker and cache.
 */
@Injectable()
export class AccountClient {
  getUser(_userId: string, _options?: ClientCallOptions): Promise<AccountUser | null> {
    return Promise.reject(new Error('AccountClient.getUser not implemented'));
  }
}
