/** Request bodies above this are refused with 413 (spec §2.3). */
export const BODY_LIMIT = 64 * 1024;

/** The 3-D Secure page's form: an outcome and a token, nothing more. */
export const PAGE_FORM_LIMIT = 1024;
