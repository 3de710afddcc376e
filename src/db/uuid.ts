// Every row key is a UUID: the one check that a string can be one (tenant context, ids decoded
// from the API, token subjects), so a malformed or forged id never reaches a query.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID.test(s);
}
