// Expected failures of the domain. The GraphQL layer exposes each as a typed error object
// (errors plugin unions); anything else is unexpected and masked with a request id.

export interface FieldIssue {
  /** Path of the offending input field, e.g. ['input', 'cron']. */
  path: string[];
  message: string;
}

export class DomainError extends Error {
  readonly code: string = 'DOMAIN_ERROR';
}

export class NotFoundError extends DomainError {
  override readonly code = 'NOT_FOUND';
  override name = 'NotFoundError';
  constructor(readonly resourceType: string, message = `${resourceType} not found`) {
    super(message);
  }
}

export class ValidationError extends DomainError {
  override readonly code = 'VALIDATION_FAILED';
  override name = 'ValidationError';
  constructor(readonly issues: FieldIssue[], message?: string) {
    super(message ?? issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  static field(path: string[], message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class ConflictError extends DomainError {
  override readonly code = 'CONFLICT';
  override name = 'ConflictError';
}

export class ForbiddenError extends DomainError {
  override readonly code = 'FORBIDDEN';
  override name = 'ForbiddenError';
  constructor(message = 'You are not allowed to do this') {
    super(message);
  }
}
