// The README's GraphQL examples are what a newcomer pastes first: each ```graphql block must
// parse and validate against the printed schema, so an API change that breaks one fails here.
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const schema = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
const blocks = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('README GraphQL examples', () => {
  it('are there', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it.each(blocks.map((b, i) => [i + 1, b] as const))('example %i validates against schema.graphql', (_n, source) => {
    const errors = validate(schema, parse(source)).map((e) => e.message);
    expect(errors).toEqual([]);
  });
});
