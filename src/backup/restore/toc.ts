// A pg_dump archive's table of contents (`pg_restore --list --verbose`), and the part of it a
// selective restore needs. `pg_restore --table` alone restores a table's definition and data but
// none of what makes it usable: its owned sequences (and their values), defaults, indexes,
// constraints, triggers, partitions. The selection here starts from the relations asked for and
// follows the archive's own dependency edges instead, and is handed to `pg_restore --use-list`.

export interface TocEntry {
  id: number;
  /** pg_dump's object kind: 'TABLE', 'TABLE DATA', 'FK CONSTRAINT', 'SEQUENCE SET', ... */
  desc: string;
  schema: string | null;
  name: string;
  owner: string;
  deps: number[];
  /** The line as pg_restore printed it (what --use-list reads back). */
  line: string;
}

// Object kinds of more than one word, longest first, so a line splits into kind, schema, name.
const MULTI_WORD = [
  'MATERIALIZED VIEW DATA', 'TEXT SEARCH CONFIGURATION', 'TEXT SEARCH DICTIONARY', 'TEXT SEARCH PARSER', 'TEXT SEARCH TEMPLATE',
  'SEQUENCE OWNED BY', 'FOREIGN DATA WRAPPER', 'PUBLICATION TABLES IN SCHEMA', 'PUBLICATION TABLE', 'MATERIALIZED VIEW',
  'DATABASE PROPERTIES', 'OPERATOR FAMILY', 'OPERATOR CLASS', 'ACCESS METHOD', 'CHECK CONSTRAINT', 'DEFAULT ACL', 'EVENT TRIGGER',
  'FK CONSTRAINT', 'FOREIGN TABLE', 'INDEX ATTACH', 'LARGE OBJECT', 'ROW SECURITY', 'SECURITY LABEL', 'SEQUENCE SET', 'TABLE ATTACH',
  'TABLE DATA', 'USER MAPPING', 'BLOB METADATA',
].sort((a, b) => b.length - a.length);

/** Relations a user may name in `tables` (pg_restore -t matches the same kinds). */
const RELATIONS = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'FOREIGN TABLE']);
/** Read by pg_restore itself whatever the list says; kept so the session is set up as dumped. */
const SESSION_SETUP = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH']);
/** Data of a relation: comes with its relation, never as a dependency of something else. */
const DATA = new Set(['TABLE DATA', 'MATERIALIZED VIEW DATA', 'SEQUENCE SET', 'LARGE OBJECT', 'BLOB', 'BLOBS']);
/** What belongs to any object it depends on, so comes with a prerequisite too. */
const ATTACHMENTS = new Set(['COMMENT', 'ACL', 'SECURITY LABEL', 'SEQUENCE SET']);

/** Parses `pg_restore --list --verbose` output (comment lines are skipped, "depends on" lines attach to the entry above). */
export function parseToc(text: string): TocEntry[] {
  const out: TocEntry[] = [];
  for (const raw of text.split('\n')) {
    const dep = /^;\s+depends on:(.*)$/.exec(raw);
    if (dep) {
      const last = out[out.length - 1];
      if (last) last.deps.push(...dep[1]!.trim().split(/\s+/).filter(Boolean).map(Number));
      continue;
    }
    const m = /^(\d+); (\d+) (\d+) (.*)$/.exec(raw);
    if (!m) continue;
    const rest = m[4]!;
    const desc = MULTI_WORD.find((d) => rest.startsWith(`${d} `)) ?? rest.slice(0, rest.indexOf(' '));
    // "<schema> <name...> <owner>": pg_restore separates them with single spaces and only
    // sanitizes newlines, so a name with spaces is the middle part; '-' is "no schema".
    const words = rest.slice(desc.length + 1).split(' ');
    const schema = words.shift() ?? '-';
    const owner = words.length > 1 ? words.pop()! : '';
    out.push({ id: Number(m[1]), desc, schema: schema === '-' ? null : schema, name: words.join(' '), owner, deps: [], line: raw });
  }
  return out;
}

/**
 * A relation name as given to `tables`: `orders`, `public.orders`, `"My.Table"`, `crm."Odd Name"`.
 * Double quotes keep dots and are the only way to write a '"' (doubled); names are otherwise
 * taken literally, as the catalog spells them.
 */
export function parseRelationName(input: string): { schema?: string; name: string } | null {
  const parts: string[] = [''];
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch === '"') {
      if (quoted && input[i + 1] === '"') {
        parts[parts.length - 1] += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === '.' && !quoted) parts.push('');
    else parts[parts.length - 1] += ch;
  }
  if (quoted || parts.length > 2 || parts.some((p) => p === '')) return null;
  return parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

/** Does a relation "schema.name" answer to a name from `tables`? Unqualified names match in every schema, as for pg_restore -t. */
export function relationMatches(wanted: string, relation: { schema: string; name: string }): boolean {
  const parsed = parseRelationName(wanted);
  return !!parsed && parsed.name === relation.name && (parsed.schema === undefined || parsed.schema === relation.schema);
}

export interface TocSelection {
  schemas?: string[];
  tables?: string[];
  /** 'new': the database is empty, so what the selection needs (schemas, types, functions) comes too; 'existing': it is expected there already. */
  mode: 'new' | 'existing';
}

export interface SelectedToc {
  /** The entries to restore, in archive order: the text for --use-list. */
  list: string;
  entries: TocEntry[];
  /** "schema.name" of every table whose data is restored. */
  tables: string[];
  /** Names from the selection that match nothing in the archive. */
  unknown: string[];
  /** Objects tied to the selection that were left out, because they also need an unselected relation (a foreign key to it, ...). */
  leftOut: string[];
  /** Selected relations that read relations outside the selection (a view of an unselected table): they cannot be created. */
  unmet: string[];
}

const qualified = (e: TocEntry) => (e.schema ? `${e.schema}.${e.name}` : e.name);

export function selectToc(toc: TocEntry[], sel: TocSelection): SelectedToc {
  const byId = new Map(toc.map((e) => [e.id, e]));
  const schemas = sel.schemas ?? [];
  const tables = sel.tables ?? [];
  const inSchemas = (e: TocEntry) => schemas.length === 0 || (e.schema !== null && schemas.includes(e.schema));
  const unknown: string[] = [];
  const roots = new Set<number>();
  for (const name of tables) {
    const hits = toc.filter((e) => RELATIONS.has(e.desc) && e.schema !== null && inSchemas(e) && relationMatches(name, { schema: e.schema, name: e.name }));
    if (hits.length === 0) unknown.push(name);
    for (const h of hits) roots.add(h.id);
  }
  if (tables.length === 0) {
    for (const s of schemas) {
      const hits = toc.filter((e) => !DATA.has(e.desc) && (e.schema === s || (e.desc === 'SCHEMA' && e.name === s)));
      if (hits.length === 0) unknown.push(s);
      for (const h of hits) if (sel.mode === 'new' || h.desc !== 'SCHEMA') roots.add(h.id);
    }
  }
  // Partitions (and inheritance children) come with the table they belong to.
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of toc) {
      if (e.desc === 'TABLE' && !roots.has(e.id) && e.deps.some((d) => roots.has(d) && byId.get(d)?.desc === 'TABLE')) {
        roots.add(e.id);
        grew = true;
      }
    }
  }
  const isRelation = (id: number) => RELATIONS.has(byId.get(id)?.desc ?? '');
  const included = new Set(roots);
  /** The selection and what hangs on it; prerequisites pulled in below are included but not attached. */
  const attached = new Set(roots);
  const leftOut = new Set<number>();
  for (let grew = true; grew; ) {
    grew = false;
    // Dependents: what is attached to the selection (data, sequences, defaults, indexes,
    // constraints, triggers, comments, ACLs, policies) and needs no relation outside it; of a
    // prerequisite (a function, a sequence), only its comment, ACL or sequence value.
    for (const e of toc) {
      if (included.has(e.id) || RELATIONS.has(e.desc) || SESSION_SETUP.has(e.desc) || e.desc === 'DATABASE') continue;
      const deps = e.deps.filter((d) => byId.has(d));
      const onSelection = deps.some((d) => attached.has(d));
      const onPrerequisite = ATTACHMENTS.has(e.desc) && deps.length > 0 && deps.every((d) => included.has(d));
      if (!onSelection && !onPrerequisite) continue;
      if (deps.some((d) => isRelation(d) && !included.has(d))) {
        leftOut.add(e.id);
        continue;
      }
      included.add(e.id);
      if (onSelection) attached.add(e.id);
      grew = true;
    }
    // Prerequisites: into an empty database, the schemas, types, domains, functions and
    // sequences the selection uses come too (never another relation or its data).
    if (sel.mode === 'new') {
      for (const id of [...included]) {
        for (const d of byId.get(id)!.deps) {
          const dep = byId.get(d);
          if (!dep || included.has(d) || RELATIONS.has(dep.desc) || DATA.has(dep.desc) || dep.desc === 'DATABASE') continue;
          included.add(d);
          grew = true;
        }
      }
    }
  }
  const unmet = [...roots]
    .map((id) => byId.get(id)!)
    .filter((e) => e.deps.some((d) => isRelation(d) && !included.has(d)))
    .map((e) => `${qualified(e)} (needs ${e.deps.filter((d) => isRelation(d) && !included.has(d)).map((d) => qualified(byId.get(d)!)).join(', ')})`);
  const entries = toc.filter((e) => included.has(e.id) || SESSION_SETUP.has(e.desc));
  return {
    list: `${entries.map((e) => e.line).join('\n')}\n`,
    entries,
    tables: entries.filter((e) => e.desc === 'TABLE DATA' && e.schema !== null).map(qualified),
    unknown,
    leftOut: toc.filter((e) => leftOut.has(e.id) && !included.has(e.id)).map((e) => `${e.desc} ${qualified(e)}`),
    unmet,
  };
}

/** Roles that own something among `entries` (what restoring owners needs on the target). */
export function ownersOf(entries: TocEntry[]): string[] {
  return [...new Set(entries.filter((e) => !SESSION_SETUP.has(e.desc) && e.owner).map((e) => e.owner))].sort();
}
