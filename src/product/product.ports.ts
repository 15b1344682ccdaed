/**
 * ProductModule's public surface for the layers above it (the events module's handlers): the
 * ports it exports. Nothing outside src/product imports anything else of it (lint-enforced).
 */
export { SubscriptionEffects } from './subscriptions/subscription-effects.js';
