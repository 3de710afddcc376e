// The layers of src/ as a test: arrows point down (the API and the workers call the domain; the
// domain calls storage, auth, audit, the database and events; nothing below calls back up),
// src/backup knows nothing of tenants, and no two modules import each other, directly or not.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function resolveImport(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return null;
}

/** Every relative import of a file (static, dynamic, re-exports, type-only included). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => resolveImport(file, s)).filter((p): p is string => p !== null && p.startsWith(SRC));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string) => path.relative(SRC, f);
const room = (f: string) => rel(f).split(path.sep)[0]!;

const LOWER = ['domain', 'auth', 'audit', 'backup', 'db', 'events', 'crypto', 'queue'];
const UPPER = ['graphql', 'http', 'jobs', 'main.ts', 'runtime.ts'];
const TENANT_AWARE = ['domain', 'auth', 'audit', 'db', 'events', 'queue', 'graphql', 'http', 'jobs', 'services.ts', 'runtime.ts'];

function violations(fromRooms: string[], toRooms: string[]): string[] {
  const out: string[] = [];
  for (const [f, deps] of graph) {
    if (!fromRooms.includes(room(f))) continue;
    for (const d of deps) if (toRooms.includes(room(d))) out.push(`${rel(f)} -> ${rel(d)}`);
  }
  return out;
}

describe('layering of src/', () => {
  it('finds the imports it checks (the checker itself works)', () => {
    expect(files.length).toBeGreaterThan(50);
    const server = graph.get(path.join(SRC, 'http/server.ts'))!;
    expect(server.map(rel)).toContain(path.join('http', 'yoga.ts'));
  });

  it('nothing below the API and the workers imports them', () => {
    expect(violations(LOWER, UPPER)).toEqual([]);
  });

  it('src/backup imports nothing tenant-aware', () => {
    expect(violations(['backup'], TENANT_AWARE)).toEqual([]);
  });

  it('the domain does not reach into the queue runtime or the workers', () => {
    expect(violations(['domain'], ['jobs'])).toEqual([]);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map(rel).join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('src/domain is grouped by capability, with only the shared error types at its root', () => {
    const root = readdirSync(path.join(SRC, 'domain'), { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => e.name);
    expect(root.sort()).toEqual(['errors.ts', 'unique.ts']);
  });

  it('every domain folder says what it is for in a README', () => {
    const folders = readdirSync(path.join(SRC, 'domain'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.filter((d) => !existsSync(path.join(SRC, 'domain', d, 'README.md')))).toEqual([]);
  });

  it('every source file opens with a comment saying what it is for', () => {
    expect(files.filter((f) => !readFileSync(f, 'utf8').startsWith('//'))).toEqual([]);
  });
});
