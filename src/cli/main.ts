// Entry point of the `keepsake` command (bin/keepsake.js). Each command prints human output, or
// with --json one JSON document on stdout; failures print the API's typed error and code (never a
// stack) and exit non-zero (codes in errors.ts).
import { Command, CommanderError } from 'commander';
import { newContext, type Runner } from './context';
import { CliError, EXIT } from './errors';
import { printJson } from './output';
import { registerAudit } from './commands/audit';
import { registerBackups } from './commands/backups';
import { registerLists } from './commands/lists';
import { registerPoints } from './commands/points';
import { registerRestores } from './commands/restores';
import { registerRetention } from './commands/retention';
import { registerSession } from './commands/session';
import { registerStatus } from './commands/status';

const program = new Command('keepsake')
  .description('Keepsake from the command line: backups, restores, restore tests, retention and the audit trail of your organization')
  .option('--json', 'print one JSON document (for scripts) instead of human output')
  .showHelpAfterError()
  .exitOverride()
  .configureOutput({ outputError: (str, write) => write(str) });

const run: Runner = (fn) => async (...args) => {
  const command = args[args.length - 1] as Command;
  const json = Boolean(command.optsWithGlobals().json);
  const ctx = newContext(json);
  try {
    process.exitCode = (await fn(ctx, ...args)) ?? 0;
  } catch (err) {
    const e = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err), 'CLI_ERROR');
    if (json) printJson({ error: e.toJSON() });
    else {
      process.stderr.write(`keepsake: ${e.opts.type && e.opts.type !== 'CliError' ? `${e.opts.type} ` : ''}[${e.code}] ${e.message}\n`);
      for (const i of e.opts.issues ?? []) process.stderr.write(`  ${i.path.join('.') || '(input)'}: ${i.message}\n`);
    }
    process.exitCode = e.exitCode;
  } finally {
    await ctx.close();
  }
};

registerSession(program, run);
registerStatus(program, run);
registerLists(program, run);
registerBackups(program, run);
registerRestores(program, run);
registerRetention(program, run);
registerPoints(program, run);
registerAudit(program, run);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version are not errors; a wrong command or option is a usage error.
    process.exitCode = err.exitCode === 0 ? 0 : EXIT.usage;
  } else {
    process.stderr.write(`keepsake: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failed;
  }
}
