// Prints the schema (sorted) to schema.graphql and, from it, client/possible-types.json (the unions
// and interfaces for clients that normalise by type, e.g. Apollo Client's `possibleTypes`: without
// it they drop the fields of typed errors). With --check, fails when either committed file differs.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { plugin as fragmentMatcher } from '@graphql-codegen/fragment-matcher';
import { schema } from '../src/graphql/schema';

const sorted = lexicographicSortSchema(schema);
const possibleTypes = String(await fragmentMatcher(sorted, [], { apolloClientVersion: 3 }, { outputFile: 'possible-types.json' }));
const files: Array<{ url: URL; name: string; content: string }> = [
  { url: new URL('../schema.graphql', import.meta.url), name: 'schema.graphql', content: printSchema(sorted) + '\n' },
  { url: new URL('../client/possible-types.json', import.meta.url), name: 'client/possible-types.json', content: possibleTypes.trimEnd() + '\n' },
];
if (process.argv.includes('--check')) {
  const stale = files.filter((f) => (existsSync(f.url) ? readFileSync(f.url, 'utf8') : '') !== f.content);
  if (stale.length) {
    console.error(`${stale.map((f) => f.name).join(' and ')} out of date: run \`npm run schema:print\` and commit the result.`);
    process.exit(1);
  }
  console.log('schema.graphql and client/possible-types.json are up to date');
} else {
  mkdirSync(new URL('../client/', import.meta.url), { recursive: true });
  for (const f of files) writeFileSync(f.url, f.content);
  console.log('wrote schema.graphql and client/possible-types.json');
}
