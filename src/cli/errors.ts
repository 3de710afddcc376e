// The one error type the CLI prints: what the API said (its typed error's name, code and field
// issues) or what went wrong locally. main.ts prints it without a stack and exits with exitCode.

export interface CliIssue {
  path: readonly string[];
  message: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly opts: { type?: string; issues?: CliIssue[]; exitCode?: number } = {},
  ) {
    super(message);
  }

  get exitCode(): number {
    return this.opts.exitCode ?? 1;
  }

  toJSON() {
    return { type: this.opts.type ?? 'CliError', code: this.code, message: this.message, ...(this.opts.issues?.length ? { issues: this.opts.issues } : {}) };
  }
}

/** Exit codes: 0 success, 1 the API refused or a job/check failed, 2 usage, 3 not signed in or credentials rejected, 4 server unreachable. */
export const EXIT = { failed: 1, usage: 2, auth: 3, unreachable: 4 } as const;
