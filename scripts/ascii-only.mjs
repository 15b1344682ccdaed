// The bundle's source made ASCII-only (see scripts/bundle.mjs for why): each UTF-16 code unit above
// 0x7f becomes a \uXXXX escape. That escape means the same character in a string, a regular
// expression (with or without the u flag: an escaped surrogate pair is one code point there too), an
// identifier and a template literal's value, and is plain text in a comment; only a template tag
// reading `raw` would see the escape. After a backslash it would change the text (`\é` is `é`,
// `\\u00e9` is not): such a source is refused.
export function asciiOnly(source) {
  if (/\\[^\x00-\x7f]/.test(source)) throw new Error('a non-ASCII character follows a backslash: escaping it would change it');
  return source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
