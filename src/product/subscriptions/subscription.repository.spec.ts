import { getMetadataArgsStorage } from 'typeorm';
import { SnakeNamingStrategy } from '../../database/snake-naming.strategy.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { ENTITY_SELECT } from './subscription.repository.js';

describe('SubscriptionRepository ENTITY_SELECT (the locking reads without TypeORM)', () => {
  it('should select every column of the entity, each under its property name', () => {
    const naming = new SnakeNamingStrategy();
    const expected = getMetadataArgsStorage()
      .columns.filter((c) => c.target === SubscriptionEntity)
      .map((c) => `s.${naming.columnName(c.propertyName, undefined, [])} AS "${c.propertyName}"`)
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(30);
    expect(ENTITY_SELECT.split(', ').sort()).toEqual(expected);
  });
});
