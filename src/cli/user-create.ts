import { parseArgs } from 'node:util';
import { buildServices, closeDependencies, createDependencies } from '../app.js';
import { loadConfigOrExit } from '../config.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../platform/auth/passwords.js';
import { AppError } from '../platform/http/errors.js';

/** `npm run user:create -- --email E --password P [--name N] [--role admin|user]` */
function options() {
  try {
    const { values } = parseArgs({
      options: {
        email: { type: 'string' },
        password: { type: 'string' },
        name: { type: 'string', default: 'Administrator' },
        role: { type: 'string', default: 'user' },
      },
    });
    const { email, password, name } = values;
    const role = ({ admin: 'admin', user: 'user' } as const)[values.role as 'admin' | 'user'];
    if (!email || !password) throw new Error('--email and --password are required');
    if (!role) throw new Error('--role is admin or user');
    if (password.length < PASSWORD_MIN_LENGTH || password.length > PASSWORD_MAX_LENGTH) {
      throw new Error(
        `--password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`,
      );
    }
    return { email, password, name, role };
  } catch (err) {
    process.stderr.write(`user:create: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

const input = options();
const config = loadConfigOrExit();
const deps = await createDependencies({ ...config, redisUrl: undefined });
try {
  const { users } = buildServices(config, deps);
  // The command line is trusted like an admin: whoever runs it owns the database.
  const operator = { userId: null, role: 'admin' as const };
  const user = await users.createUser(operator, input);
  process.stdout.write(`created ${user.role} ${user.email} (${user.id})\n`);
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  process.stderr.write(`user:create: ${err.message}\n`);
  process.exitCode = 1;
} finally {
  await closeDependencies(deps);
}
