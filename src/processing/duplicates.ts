/** `duplicate_check`: the same request within this window is refused. */
export const DUPLICATE_WINDOW_MS = 30_000;

/** The oldest creation time a transaction may have and still make this request its duplicate. */
export function duplicateSince(now: Date): string {
  return new Date(now.getTime() - DUPLICATE_WINDOW_MS).toISOString();
}
