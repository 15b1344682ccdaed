/** The source with every character above 0x7f written as a \uXXXX escape (scripts/ascii-only.mjs). */
export function asciiOnly(source: string): string;
