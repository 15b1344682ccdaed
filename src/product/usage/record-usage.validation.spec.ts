import { validateRecordUsage } from './record-usage.validation.js';

describe('validateRecordUsage', () => {
  it('should accept a record with only the required fields, and optional ones given as null', () => {
    expect(validateRecordUsage({ user_id: 'u1', product_id: 'p1', usage_amount: 5 }).details).toEqual([]);
    expect(
      validateRecordUsage({
        user_id: 'u1',
        product_id: 'p1',
        usage_amount: 0.1,
        organization_id: null,
        subscription_id: null,
        session_id: null,
        request_id: null,
        usage_details: null,
        usage_timestamp: null,
      }).details,
    ).toEqual([]);
  });

  it('should name each bad, missing or unknown field, under the parent path when given', () => {
    const { details } = validateRecordUsage(
      { product_id: 'p\u0000', usage_amount: -1, usage_details: [1], usage_timestamp: 'yesterday', colour: 'red' },
      'records[2]',
    );
    expect(details).toEqual([
      { field: 'records[2].user_id', message: 'user_id must be a string of 1-255 characters without control characters' },
      { field: 'records[2].product_id', message: 'product_id must be a string of 1-255 characters without control characters' },
      { field: 'records[2].usage_amount', message: 'usage_amount must be greater than 0' },
      { field: 'records[2].usage_details', message: 'usage_details must be an object' },
      { field: 'records[2].usage_timestamp', message: 'usage_timestamp must be an ISO 8601 timestamp (no offset = UTC)' },
      { field: 'records[2].colour', message: 'records[2].colour is not an allowed field' },
    ]);
    expect(validateRecordUsage({ user_id: 'u', product_id: 'p', usage_amount: 'lots' }).details).toEqual([
      { field: 'usage_amount', message: 'usage_amount must be a number or a plain decimal string (e.g. "1.5")' },
    ]);
  });

  it('should refuse C1 control characters in identifiers, and usage_details above 64 KiB as JSON', () => {
    expect(validateRecordUsage({ user_id: 'a\u0085b', product_id: 'p\u009f', usage_amount: 1 }).details.map((d) => d.field)).toEqual([
      'user_id',
      'product_id',
    ]);
    expect(validateRecordUsage({ user_id: 'a\u00a0b', product_id: 'p', usage_amount: 1 }).details).toEqual([]); // U+00A0 is not a control character
    const fits = { text: 'x'.repeat(65_536 - '{"text":""}'.length) };
    expect(validateRecordUsage({ user_id: 'u', product_id: 'p', usage_amount: 1, usage_details: fits }).details).toEqual([]);
    // bytes, not characters: 'é' is two bytes of UTF-8
    const over = { text: 'é'.repeat(32_763) };
    expect(validateRecordUsage({ user_id: 'u', product_id: 'p', usage_amount: 1, usage_details: over }, 'records[1]').details).toEqual([
      { field: 'records[1].usage_details', message: 'usage_details must be at most 64 KiB as JSON' },
    ]);
    expect(
      validateRecordUsage({ user_id: 'u', product_id: 'p', usage_amount: 1, usage_details: { text: 'x'.repeat(65_526) } }).details,
    ).toEqual([{ field: 'usage_details', message: 'usage_details must be at most 64 KiB as JSON' }]);
  });
});
