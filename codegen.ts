// Types for the operations the tests and the `keepsake` CLI send, generated from the committed
// schema. The CLI's file is committed (so `npx keepsake` works from a fresh install); `npm test`
// runs `codegen:check`, which fails when it differs from what the operations generate.
import type { CodegenConfig } from '@graphql-codegen/cli';

const operationsConfig = {
  scalars: { DateTime: 'string', BigInt: 'string', JSON: 'unknown' },
  enumsAsTypes: true,
  useTypeImports: true,
};

const tests = {
  'test/generated/graphql.ts': {
    documents: ['test/operations/**/*.graphql'],
    plugins: ['typescript-operations', 'typed-document-node'],
    config: operationsConfig,
  },
};

const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    // codegen:check looks at the committed CLI file only (test/generated is not committed).
    ...(process.env.CODEGEN_TARGET === 'cli' ? {} : tests),
    'src/cli/generated/graphql.ts': {
      documents: ['src/cli/operations/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: operationsConfig,
    },
  },
};

export default config;
