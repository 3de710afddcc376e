// A small sample database for the demo organization to protect, created on the embedded server
// on first start, so `npm start` shows a real backup and restore without any setup.
import pg from 'pg';

export const DEMO_SHOP_DATABASE = 'demo_shop';

/** Creates the database with sample rows unless it exists; returns its URL. */
export async function ensureDemoShopDatabase(adminUrl: string, name = DEMO_SHOP_DATABASE): Promise<string> {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) return url.toString();
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
  const shop = new pg.Client({ connectionString: url.toString() });
  await shop.connect();
  try {
    await shop.query(`
      BEGIN;
      CREATE SCHEMA crm;
      CREATE TABLE crm.customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL, joined date NOT NULL);
      INSERT INTO crm.customers (name, email, joined)
        SELECT 'Customer ' || g, 'customer' || g || '@example.com', date '2024-01-01' + (g % 700) FROM generate_series(1, 1000) g;
      CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES crm.customers(id), total numeric(10,2) NOT NULL, placed_at timestamptz NOT NULL);
      INSERT INTO public.orders (customer_id, total, placed_at)
        SELECT 1 + (g % 1000), (g % 500) + 0.99, timestamptz '2025-01-01' + make_interval(hours => g) FROM generate_series(1, 5000) g;
      COMMIT;`);
  } finally {
    await shop.end();
  }
  return url.toString();
}
