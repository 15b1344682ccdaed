/**
 * ProductModule's public surface for the layers above it (the events module): the module to import
 * and the one port it exports. Nothing outside src/product imports anything else of it
 * (lint-enforced, see eslint.config.js).
 */
export { ProductModule } from './product.module.js';
export { SubscriptionEffects } from './subscriptions/subscription-effects.js';
