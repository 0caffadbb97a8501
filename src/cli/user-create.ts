import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { parseArgs } from 'node:util';
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { buildServices } from '../composition/services.js';
import { loadConfigOrExit, withoutRedis } from '../config.js';
import { AppError } from '../platform/errors.js';
import { compileBody } from '../platform/http/validation.js';
import { CreateUserBody } from '../modules/users/users.schemas.js';
import type { Actor } from '../platform/auth/actor.js';
import { exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run user:create -- --email E [--password P] [--name N] [--role admin|user]`
 *
 * Creates the account, or, when the email already has one, changes what is given: `--role`
 * promotes or demotes it, `--password` resets its password. Either change ends the account's
 * sessions. This is the explicit way to make an existing account an admin: the ADMIN_EMAIL
 * bootstrap never promotes one.
 */
function options() {
  try {
    const { values } = parseArgs({
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        name: { type: 'string' },
        role: { type: 'string' },
      },
    });
    if (!values.email) throw new Error('--email is required');
    if (values.role !== undefined && !['admin', 'user'].includes(values.role)) {
      throw new Error('--role is admin or user');
    }
    // The API's own rules for these fields, the one spelling of the email included.
    const input = {
      name: values.name ?? 'Administrator',
      email: values.email,
      ...(values.password === undefined ? {} : { password: values.password }),
      ...(values.role === undefined ? {} : { role: values.role }),
    };
    const validate = compileBody(CreateUserBody);
    if (!validate(input)) {
      const problems = (validate.errors ?? []).map(
        (e) => `${e.instancePath.slice(1)} ${e.message}`,
      );
      throw new Error(problems.join('; '));
    }
    return {
      input: input as typeof input & { role?: 'admin' | 'user' },
      nameGiven: values.name !== undefined,
    };
  } catch (err) {
    process.stderr.write(`user:create: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

const { input, nameGiven } = options();
const config = loadConfigOrExit();
const deps = await createDependencies(withoutRedis(config)).catch(
  exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs }),
);
try {
  const { users } = buildServices(config, deps);
  // The command line is trusted like an admin: whoever runs it owns the database. It is no
  // user, so an account it changes is never "itself" (no current password is asked).
  const operator: Actor = { userId: 'operator', role: 'admin' };
  const existing = await users.findByEmail(operator, input.email);
  if (!existing) {
    if (!input.password) throw new AppError(400, 'VALIDATION_ERROR', '--password is required');
    const user = await users.createUser(operator, { ...input, role: input.role ?? 'user' });
    process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`);
  } else {
    const changes = {
      ...(input.role === undefined ? {} : { role: input.role }),
      ...(input.password === undefined ? {} : { password: input.password }),
      ...(nameGiven ? { name: input.name } : {}),
    };
    if (Object.keys(changes).length === 0) {
      process.stdout.write(`${existing.email} exists (${existing.role}); nothing to change\n`);
    } else {
      const user = await users.updateUser(operator, existing.id, changes);
      const what = Object.keys(changes).join(', ');
      const ended = 'role' in changes || 'password' in changes ? '; its sessions ended' : '';
      process.stdout.write(`updated ${what} of ${user.email}: now ${user.role}${ended}\n`);
    }
  }
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  process.stderr.write(`user:create: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  await closeDependencies(deps);
}
