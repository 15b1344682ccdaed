import { getMetadataArgsStorage } from 'typeorm';
import { BIGINT_AS_TEXT } from '../../database/bigint-text.js';
import { SnakeNamingStrategy } from '../../database/snake-naming.strategy.js';
import { SubscriptionEntity } from './subscription.entity.js';
import { ENTITY_SELECT } from './subscription.repository.js';

describe('SubscriptionRepository ENTITY_SELECT (the locking reads without TypeORM)', () => {
  it('should select every column of the entity, each under its property name (bigints as text)', () => {
    const naming = new SnakeNamingStrategy();
    const expected = getMetadataArgsStorage()
      .columns.filter((c) => c.target === SubscriptionEntity)
      // a bigint column read as text, as its transformer reads it through TypeORM on every driver
      .map((c) => {
        const asText = c.options.transformer === BIGINT_AS_TEXT ? '::text' : '';
        return `s.${naming.columnName(c.propertyName, undefined, [])}${asText} AS "${c.propertyName}"`;
      })
      .sort();
    expect(expected.length).toBeGreaterThanOrEqual(30);
    expect(ENTITY_SELECT.split(', ').sort()).toEqual(expected);
  });
});
