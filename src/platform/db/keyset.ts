/**
 * A position in a list ordered newest first, by (created_at DESC, id DESC): the last row a page
 * showed. The next page is every row after it, which an index on those two columns serves by
 * seeking, so page 10,000 costs what page 1 costs and rows inserted meanwhile (newer, so before
 * the position) never shift the pages that follow.
 */
export interface Keyset {
  createdAt: Date;
  id: string;
}

/**
 * The instants a keyset may name: those a timestamptz column holds and JavaScript writes in
 * ISO form with four year digits. PostgreSQL has no year 0 (1 BC comes before 1 AD), which
 * JavaScript's year 0000 would be: a position outside this range is refused, not sent.
 */
export const KEYSET_TIME_RANGE = {
  min: new Date('0001-01-01T00:00:00.000Z'),
  max: new Date('9999-12-31T23:59:59.999Z'),
} as const;

export function isKeysetTime(instant: Date): boolean {
  const ms = instant.getTime();
  return ms >= KEYSET_TIME_RANGE.min.getTime() && ms <= KEYSET_TIME_RANGE.max.getTime();
}
