/**
 * The `Location` of a resource a request created: the address of the collection it joined,
 * under the version prefix of the routes that created it (`/api/v1/posts/<id>`).
 */
export function locationOf(prefix: string, collection: string, id: string): string {
  return `${prefix}/${collection}/${id}`;
}
