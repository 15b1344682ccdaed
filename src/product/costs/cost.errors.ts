import { conflict, type DomainError, notFound } from '../../common/errors/domain-error.js';

export const CostErrorCode = {
  COST_DEFINITION_NOT_FOUND: 'COST_DEFINITION_NOT_FOUND',
  COST_DEFINITION_EXISTS: 'COST_DEFINITION_EXISTS',
  COST_ROTATION_CONFLICT: 'COST_ROTATION_CONFLICT',
} as const;

/** The provider cost definitions' errors. */
export const CostErrors = {
  notFound: (costId: string): DomainError => notFound(CostErrorCode.COST_DEFINITION_NOT_FOUND, `Cost definition ${costId} not found`),
  noMatch: (serviceType: string): DomainError =>
    notFound(CostErrorCode.COST_DEFINITION_NOT_FOUND, `No active cost definition matches service_type ${serviceType} and the given fields`),
  exists: (costId: string): DomainError => conflict(CostErrorCode.COST_DEFINITION_EXISTS, `Cost definition ${costId} already exists`),
  /** a rotation whose new version would not start after a version it replaces */
  rotationConflict: (costId: string, replaced: string): DomainError =>
    conflict(
      CostErrorCode.COST_ROTATION_CONFLICT,
      `Cost definition ${costId} must start after ${replaced}, the active version it replaces, starts (effective_from)`,
    ),
};
