import { postgresOutage } from './scenarios/postgres-outage.js';
import { failures } from './support/scenario.js';

describe('chaos 2: PostgreSQL fast shutdown and postmaster kill -9 under load', () => {
  it('answers 503 while the database is down, recovers without a restart, and loses nothing answered', async () => {
    expect(failures(await postgresOutage())).toEqual([]);
  });
});
