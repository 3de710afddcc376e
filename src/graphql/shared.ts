// Small pieces of the schema that many capabilities use: the `{ id }` input of mutations that
// act on one object, and the `Deleted` result of every delete mutation.
import { builder } from './builder';

/** An input type with a single required `id` (a global id). */
export const idInput = (name: string) => builder.inputType(name, { fields: (t) => ({ id: t.id({ required: true }) }) });

export const DeletedRef = builder.objectRef<{ id: string }>('Deleted').implement({
  description: 'The global id of what was deleted',
  fields: (t) => ({ deletedId: t.exposeID('id') }),
});
