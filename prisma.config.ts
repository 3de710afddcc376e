import { defineConfig } from 'prisma/config';

// The URL is read with process.env, not env(): env() makes `prisma generate` fail when unset.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/keepsake' },
});
