import { badRequest, conflict, type DomainError, forbidden, notFound, unprocessable } from '../../common/errors/domain-error.js';

export const SubscriptionErrorCode = {
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  SUBSCRIPTION_EXISTS: 'SUBSCRIPTION_EXISTS',
  SUBSCRIPTION_NOT_ACTIVE: 'SUBSCRIPTION_NOT_ACTIVE',
  SUBSCRIPTION_REQUIRED: 'SUBSCRIPTION_REQUIRED',
  ILLEGAL_TRANSITION: 'ILLEGAL_TRANSITION',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  USER_INACTIVE: 'USER_INACTIVE',
  ORGANIZATION_NOT_FOUND: 'ORGANIZATION_NOT_FOUND',
  NOT_ORGANIZATION_MEMBER: 'NOT_ORGANIZATION_MEMBER',
} as const;

/** The subscriptions' errors, by what went wrong. */
export const SubscriptionErrors = {
  notFound: (subscriptionId: string): DomainError =>
    notFound(SubscriptionErrorCode.SUBSCRIPTION_NOT_FOUND, `Subscription ${subscriptionId} not found`),
  exists: (): DomainError =>
    conflict(
      SubscriptionErrorCode.SUBSCRIPTION_EXISTS,
      'The user already has an open subscription for this organization (or none); change its plan instead',
    ),
  illegalTransition: (message: string): DomainError => conflict(SubscriptionErrorCode.ILLEGAL_TRANSITION, message),
  notActive: (subscriptionId: string, userId: string): DomainError =>
    unprocessable(
      SubscriptionErrorCode.SUBSCRIPTION_NOT_ACTIVE,
      `Subscription ${subscriptionId} is not an active subscription of user ${userId}`,
    ),
  required: (productId: string): DomainError =>
    unprocessable(
      SubscriptionErrorCode.SUBSCRIPTION_REQUIRED,
      `Product ${productId} requires an active subscription whose plan includes it`,
    ),
  userNotFound: (userId: string): DomainError => unprocessable(SubscriptionErrorCode.USER_NOT_FOUND, `User ${userId} not found`),
  userInactive: (userId: string): DomainError => unprocessable(SubscriptionErrorCode.USER_INACTIVE, `User ${userId} is not active`),
  organizationNotFound: (organizationId: string): DomainError =>
    unprocessable(SubscriptionErrorCode.ORGANIZATION_NOT_FOUND, `Organization ${organizationId} not found`),
  notMember: (organizationId: string, userId: string): DomainError =>
    forbidden(`User ${userId} is not a member of organization ${organizationId}`, SubscriptionErrorCode.NOT_ORGANIZATION_MEMBER),
  seatsOutOfRange: (planId: string, range: string): DomainError =>
    badRequest('Request validation failed', [{ field: 'seats', message: `seats must be ${range} for plan ${planId}` }]),
};
