// client/possible-types.json is what Apollo Client (and any cache that normalises by type) needs
// to match fragments on the typed-error unions; without it error fields are dropped. It must name
// every union and interface of schema.graphql with all their members (schema:check keeps it current).
import { readFileSync } from 'node:fs';
import { buildSchema, isInterfaceType, isUnionType } from 'graphql';
import { describe, expect, it } from 'vitest';

const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
const committed = JSON.parse(readFileSync(new URL('../../client/possible-types.json', import.meta.url), 'utf8')) as { possibleTypes: Record<string, string[]> };

describe('client/possible-types.json', () => {
  it('names every union and interface with all its members', () => {
    const expected: Record<string, string[]> = {};
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      if (isUnionType(type)) expected[type.name] = type.getTypes().map((t) => t.name).sort();
      if (isInterfaceType(type)) expected[type.name] = schema.getPossibleTypes(type).map((t) => t.name).sort();
    }
    const actual = Object.fromEntries(Object.entries(committed.possibleTypes).map(([k, v]) => [k, [...v].sort()]));
    expect(actual).toEqual(expected);
    expect(actual.Error).toContain('ValidationError');
  });
});
