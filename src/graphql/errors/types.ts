// Typed errors in the schema: every mutation payload is a union of its result and these.
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../domain/errors';
import { builder } from '../builder';

export const ErrorInterface = builder.interfaceRef<Error & { code?: string }>('Error').implement({
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.string({ resolve: (e) => e.code ?? 'ERROR' }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resourceType: t.exposeString('resourceType') }),
});

const FieldIssueRef = builder.objectRef<{ path: string[]; message: string }>('FieldIssue').implement({
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Path of the offending input field' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ issues: t.field({ type: [FieldIssueRef], resolve: (e) => e.issues }) }),
});

builder.objectType(ConflictError, { name: 'ConflictError', interfaces: [ErrorInterface] });
builder.objectType(ForbiddenError, { name: 'ForbiddenError', interfaces: [ErrorInterface] });

/** The errors every mutation may return. */
export const MUTATION_ERRORS = [NotFoundError, ValidationError, ConflictError, ForbiddenError];
