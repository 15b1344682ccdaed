export declare const LAZY_DATE_TIME_FORMAT: string;
export declare function lazyDateTimeFormatters(source: string): string;
