import { type ArgumentMetadata, Injectable, ValidationPipe, type ValidationError } from '@nestjs/common';
import { badRequest, type ErrorDetail } from '../errors/domain-error.js';
import { checkJsonBody } from './json-guard.js';

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    // Array items are named like JSON paths elsewhere in the API: tiers[1].unit_price
    const field = !parent ? error.property : /^\d+$/.test(error.property) ? `${parent}[${error.property}]` : `${parent}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: message.includes('should not exist') ? `${field} is not an allowed field` : message,
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** A 400 VALIDATION_ERROR naming each bad field. */
export function validationException(errors: ValidationError[]): Error {
  return badRequest('Request validation failed', flatten(errors));
}

/**
 * Global validation: bodies reject unknown fields (SPEC), query strings drop unknown parameters
 * (browsers and proxies add cache-busters); both transform to the DTO's types.
 */
@Injectable()
export class AppValidationPipe extends ValidationPipe {
  private readonly queryPipe = new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: false,
    transform: true,
    exceptionFactory: validationException,
  });

  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: validationException,
      validationError: { target: false, value: false },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (
      metadata.type === 'body' &&
      (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) &&
      metadata.metatype &&
      metadata.metatype !== Object
    ) {
      throw badRequest('Request body must be a JSON object');
    }
    if (metadata.type === 'body') {
      const problems = checkJsonBody(value);
      if (problems.length > 0) throw badRequest('Request validation failed', problems);
    }
    if (metadata.type === 'query') return this.queryPipe.transform(value, metadata);
    return super.transform(value, metadata);
  }
}
