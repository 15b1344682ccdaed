import { redisOptionsFromUrl } from './redis-throttler.storage.js';

describe('redisOptionsFromUrl', () => {
  it('should read host, port, credentials, database and TLS the way ioredis reads a URL', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6379')).toEqual({ host: '127.0.0.1', port: 6379 });
    expect(redisOptionsFromUrl('redis://redis.internal')).toEqual({ host: 'redis.internal', port: 6379 });
    expect(redisOptionsFromUrl('rediss://:p%40ss@redis.internal:6380/2')).toEqual({
      host: 'redis.internal',
      port: 6380,
      password: 'p@ss',
      db: 2,
      tls: {},
    });
    expect(redisOptionsFromUrl('redis://limiter:secret@[::1]:7000/')).toEqual({
      host: '::1',
      port: 7000,
      username: 'limiter',
      password: 'secret',
    });
  });
});
