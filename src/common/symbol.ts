/** A symbol after trimming and upper-casing (docs/api.md#numbers-and-decimals): 1-10 characters of A-Z, digits, `.` or `/`. */
export const SYMBOL_PATTERN = /^[A-Z0-9./]{1,10}$/;
