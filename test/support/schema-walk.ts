// Building arguments for any field of the schema, for tests that walk every query and mutation
// (tenancy-walk, hostile-input-walk). IDs come from a map of seeded objects by type name; a field
// whose arguments cannot be built throws Unbuildable, so a new field is covered or noticed.
import {
  getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, isObjectType, isScalarType, isUnionType,
  type GraphQLArgument, type GraphQLField, type GraphQLInputField, type GraphQLInputType,
} from 'graphql';
import pg from 'pg';
import { startTestApp, type TestApp, type TestOrg } from './app';
import { seedOrgObjects } from './seed-objects';

export class Unbuildable extends Error {}

const TYPE_BY_ID_FIELD: Record<string, string> = {
  membershipId: 'Membership', sourceId: 'Source', destinationId: 'Destination', destinationIds: 'Destination',
  retentionPolicyId: 'RetentionPolicy', strategyId: 'Strategy', recoveryPointId: 'RecoveryPoint', backupJobId: 'BackupJob',
  recoveryJobId: 'RecoveryJob', apiKeyId: 'ApiKey', channelId: 'NotificationChannel', verificationId: 'Verification',
  alertId: 'Alert',
};

const SAMPLE_STRINGS: Array<[RegExp, string]> = [
  [/cron/i, '0 3 * * *'], [/timezone/i, 'UTC'], [/email/i, 'walker@example.com'], [/connectionurl/i, 'postgresql://u:p@127.0.0.1:1/db'],
  [/endpoint/i, 'http://127.0.0.1:1'], [/bucket/i, 'walk-bucket'], [/^path$/i, 'walk'], [/mmdd|peak(start|end)|season(start|end)/i, '01-01'],
  [/reason/i, 'walk'], [/confirm/i, 'walk'], [/^url$/i, 'http://127.0.0.1:1/hook'],
];

export type FieldArgs = Record<string, GraphQLInputField | GraphQLArgument>;

/** Sample arguments built from the seeded objects in `ids` (global ids by GraphQL type name). */
export function argumentBuilder(ids: Map<string, string[]>) {
  /** The object type an `id` argument of this operation refers to: the longest type name in the operation name. */
  const targetTypeOf = (operation: string) =>
    [...ids.keys()].filter((name) => operation.toLowerCase().includes(name.toLowerCase())).sort((a, b) => b.length - a.length)[0];

  function sampleFor(name: string, type: GraphQLInputType, operation: string): unknown {
    if (isNonNullType(type)) return sampleFor(name, type.ofType, operation);
    if (isListType(type)) {
      const one = sampleFor(name.replace(/s$/, ''), type.ofType, operation);
      return name in TYPE_BY_ID_FIELD && Array.isArray(one) ? one : [one];
    }
    if (isEnumType(type)) return type.getValues()[0]!.name;
    if (isInputObjectType(type)) return buildInput(type.getFields(), operation, true);
    if (isScalarType(type)) {
      if (type.name === 'ID') {
        const target = name === 'id' || name === 'ids' ? targetTypeOf(operation) : TYPE_BY_ID_FIELD[name] ?? TYPE_BY_ID_FIELD[`${name}s`];
        const found = target ? ids.get(target) : undefined;
        if (!found?.length) throw new Unbuildable(`no seeded object for ID field "${name}" of ${operation}; add it to seedOrgObjects or TYPE_BY_ID_FIELD`);
        return found[0];
      }
      if (type.name === 'String') {
        // Directory sources and directory restores take absolute paths; LOCAL destinations relative ones.
        if (name === 'path' && /directory|restore/i.test(operation)) return `/srv/walk-${operation}`;
        // Names are unique per kind of object: one per operation never collides.
        if (name === 'name') return `walk-${operation}`;
        return SAMPLE_STRINGS.find(([re]) => re.test(name))?.[1] ?? `walk-${name}`;
      }
      if (type.name === 'Int') return 1;
      if (type.name === 'Float') return 1;
      if (type.name === 'Boolean') return /confirm/i.test(name);
      if (type.name === 'DateTime') return new Date(Date.now() + 86_400_000).toISOString();
      if (type.name === 'BigInt') return '1';
      if (type.name === 'JSON') return {};
    }
    throw new Unbuildable(`cannot build a value for ${name}: ${String(type)} in ${operation}`);
  }

  function buildInput(fields: FieldArgs, operation: string, requiredOnly: boolean): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(fields)) {
      const isId = getNamedType(f.type).name === 'ID';
      // A retention policy must keep something: its one rule that is always given.
      const neededRule = f.name === 'keepLast' && /retentionpolicy/i.test(operation);
      if (requiredOnly && !isNonNullType(f.type) && !isId && !neededRule) continue;
      out[f.name] = sampleFor(f.name, f.type, operation);
    }
    return out;
  }

  return { sampleFor, buildInput };
}

/** A selection for the field's result: the typed error or the success's data id, or an object's id. */
export function selectionFor(field: GraphQLField<unknown, unknown>): string {
  const named = getNamedType(field.type);
  if (isUnionType(named)) {
    const ok = named.getTypes().find((tp) => !tp.getInterfaces().some((i) => i.name === 'Error'));
    const okSel = ok && 'data' in ok.getFields() ? ` ... on ${ok.name} { data { __typename ${idSel(ok.getFields().data!.type)} } }` : '';
    return `{ __typename ... on Error { message code }${okSel} }`;
  }
  if (isObjectType(named)) {
    const f = named.getFields();
    if ('edges' in f) return '{ edges { node { id } } }';
    return `{ __typename ${'id' in f ? 'id' : ''} }`;
  }
  return '';
}

function idSel(type: unknown): string {
  const named = getNamedType(type as never);
  return isObjectType(named) && 'id' in named.getFields() ? 'id' : '';
}

export function argDecls(field: GraphQLField<unknown, unknown>) {
  return field.args.length ? `(${field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ')})` : '';
}

export function argUses(field: GraphQLField<unknown, unknown>) {
  return field.args.length ? `(${field.args.map((a) => `${a.name}: $${a.name}`).join(', ')})` : '';
}

/** Every field argument as a FieldArgs map, for buildInput. */
export const argsOf = (field: GraphQLField<unknown, unknown>): FieldArgs => Object.fromEntries(field.args.map((a) => [a.name, a]));

/** The setup both walks of one's own organization use: an app, an org with one object of every type, a superuser. */
export async function startOwnOrgWalk(): Promise<{ t: TestApp; org: TestOrg; builder: ReturnType<typeof argumentBuilder>; superuser: pg.Client; stop(): Promise<void> }> {
  const t = await startTestApp();
  const org = await t.createOrg();
  const builder = argumentBuilder(await seedOrgObjects(t, org));
  const superuser = new pg.Client({ connectionString: t.db.url });
  await superuser.connect();
  return { t, org, builder, superuser, stop: async () => { await superuser.end(); await t.stop(); } };
}
