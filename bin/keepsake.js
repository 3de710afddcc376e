#!/usr/bin/env node
// The `keepsake` command (`npx keepsake …` in a checkout). The project ships TypeScript, so the CLI
// runs through tsx, like `npm start`; it loads only the CLI and its generated GraphQL client.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
