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
