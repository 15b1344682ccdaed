import {
  badRequest,
  conflict,
  type DomainError,
  type ErrorDetail,
  forbidden,
  notFound,
  unprocessable,
} from '../../common/errors/domain-error.js';

export const CatalogErrorCode = {
  PRODUCT_NOT_FOUND: 'PRODUCT_NOT_FOUND',
  PRODUCT_INACTIVE: 'PRODUCT_INACTIVE',
  PRODUCT_EXISTS: 'PRODUCT_EXISTS',
  CATEGORY_NOT_FOUND: 'CATEGORY_NOT_FOUND',
  CATEGORY_EXISTS: 'CATEGORY_EXISTS',
  PLAN_NOT_FOUND: 'PLAN_NOT_FOUND',
  PLAN_EXISTS: 'PLAN_EXISTS',
  PLAN_NOT_AVAILABLE: 'PLAN_NOT_AVAILABLE',
  INVALID_TIERS: 'INVALID_TIERS',
  PRICING_NOT_FOUND: 'PRICING_NOT_FOUND',
} as const;

/** The catalog's errors, by what went wrong. */
export const CatalogErrors = {
  /** GET of an unknown product: 404 */
  productNotFound: (productId: string): DomainError => notFound(CatalogErrorCode.PRODUCT_NOT_FOUND, `Product ${productId} not found`),
  /** a product another request refers to does not exist: 422 */
  productUnknown: (productId: string): DomainError => unprocessable(CatalogErrorCode.PRODUCT_NOT_FOUND, `Product ${productId} not found`),
  productsUnknown: (ids: string[]): DomainError =>
    unprocessable(CatalogErrorCode.PRODUCT_NOT_FOUND, `Included product(s) not found: ${ids.join(', ')}`),
  productInactive: (productId: string): DomainError =>
    unprocessable(CatalogErrorCode.PRODUCT_INACTIVE, `Product ${productId} is not active`),
  productExists: (productId: string, productCode: string | null | undefined): DomainError =>
    conflict(CatalogErrorCode.PRODUCT_EXISTS, `A product with id ${productId} or product_code ${productCode ?? '-'} already exists`),
  productCodeTaken: (productCode: string): DomainError =>
    conflict(CatalogErrorCode.PRODUCT_EXISTS, `product_code ${productCode} is already used`),
  categoryUnknown: (categoryId: string): DomainError =>
    unprocessable(CatalogErrorCode.CATEGORY_NOT_FOUND, `Category ${categoryId} does not exist`),
  categoryExists: (categoryId: string): DomainError => conflict(CatalogErrorCode.CATEGORY_EXISTS, `Category ${categoryId} already exists`),
  planNotFound: (planId: string): DomainError => notFound(CatalogErrorCode.PLAN_NOT_FOUND, `Plan ${planId} not found`),
  planExists: (planId: string): DomainError => conflict(CatalogErrorCode.PLAN_EXISTS, `Plan ${planId} already exists`),
  planNotAvailable: (planId: string): DomainError =>
    forbidden(`Plan ${planId} is not available for self-service`, CatalogErrorCode.PLAN_NOT_AVAILABLE),
  /** a tier row (pricing_id) that does not exist: 404 */
  pricingNotFound: (pricingId: string): DomainError =>
    notFound(
      CatalogErrorCode.PRICING_NOT_FOUND,
      `Pricing ${pricingId} not found (tier rows are identified by the pricing_id of the pricing response)`,
    ),
  /** 400 INVALID_TIERS naming each bad tier field. */
  invalidTiers: (details: ErrorDetail[]): DomainError =>
    badRequest('The tier table is invalid: tiers must be contiguous from 0 and ordered', details, CatalogErrorCode.INVALID_TIERS),
  invalidSeatRange: (): DomainError =>
    badRequest('Request validation failed', [{ field: 'max_seats', message: 'max_seats must be null or at least min_seats' }]),
};
