// Prints the schema (sorted) to schema.graphql; with --check, fails when the committed file differs.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/graphql/schema';

const printed = printSchema(lexicographicSortSchema(schema)) + '\n';
const file = new URL('../schema.graphql', import.meta.url);
if (process.argv.includes('--check')) {
  const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (committed !== printed) {
    console.error('schema.graphql is out of date: run `npm run schema:print` and commit the result.');
    process.exit(1);
  }
  console.log('schema.graphql is up to date');
} else {
  writeFileSync(file, printed);
  console.log('wrote schema.graphql');
}
