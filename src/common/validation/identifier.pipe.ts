import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { invalidField } from '../errors/domain-error.js';
import { isIdentifier } from './validators.js';

/**
 * A path parameter that is an identifier (SPEC: 1-255 characters, no control characters), checked
 * without building a DTO (the hot reads by id): `@Param('product_id', IdentifierPipe) id: string`.
 */
@Injectable()
export class IdentifierPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (!isIdentifier(value)) {
      const field = metadata.data ?? 'id';
      throw invalidField(field, `${field} must be a string of 1-255 characters without control characters`);
    }
    return value;
  }
}
