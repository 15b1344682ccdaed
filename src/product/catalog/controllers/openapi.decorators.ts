import { applyDecorators } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiNotFoundResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { errorExample } from './examples.js';

/** The error responses every internal catalog write can give. */
export const ApiInternalWrite = (): MethodDecorator =>
  applyDecorators(
    ApiBadRequestResponse({
      description: 'malformed JSON, unknown or invalid fields (details name each)',
      schema: {
        example: errorExample('VALIDATION_ERROR', 'Request validation failed', [{ field: 'name', message: 'name must be a string' }]),
      },
    }),
    ApiUnauthorizedResponse({ schema: { example: errorExample('UNAUTHORIZED', 'Internal service credentials required') } }),
    ApiForbiddenResponse({ schema: { example: errorExample('FORBIDDEN', 'This endpoint is for internal services only') } }),
  );

export const ApiProductNotFound = (): MethodDecorator =>
  ApiNotFoundResponse({ schema: { example: errorExample('PRODUCT_NOT_FOUND', 'Product nope not found') } });
