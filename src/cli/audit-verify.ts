import { loadDotEnv } from '../env-file.js';
// Imports run first, but none reads the environment while loading; the config is read below.
loadDotEnv();
import { parseArgs } from 'node:util';
import { closeDependencies, createDependencies } from '../composition/dependencies.js';
import { loadConfigOrExit, withoutRedis } from '../config.js';
import { UNMATCHED_CHAIN_ID } from '../platform/audit/chain.js';
import { SecurityLogVerifier, type ChainReport } from '../platform/audit/verify.js';
import { UUID_PATTERN } from '../platform/http/validation.js';
import { exitOnStartupError } from '../platform/startup-errors.js';

/**
 * `npm run audit:verify [-- --user <id>] [-- --verbose]`: walks every chain of the security log
 * (or one account's) from its anchor, recomputes each hash, and prints what it checked. Exits 1
 * naming the chain and the sequence number where a changed, deleted or inserted record breaks
 * it; 2 on a bad argument. Reads only.
 */
function options() {
  try {
    const { values } = parseArgs({
      options: { user: { type: 'string' }, verbose: { type: 'boolean' } },
    });
    if (values.user !== undefined && !UUID_PATTERN.test(values.user)) {
      throw new Error('--user is an account id (a UUID)');
    }
    return { user: values.user?.toLowerCase(), verbose: values.verbose ?? false };
  } catch (err) {
    process.stderr.write(`audit:verify: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

const chainName = (id: string) =>
  id === UNMATCHED_CHAIN_ID ? `${id} (events no account matched)` : id;

function line(report: ChainReport): string {
  const range = `sequence ${report.anchorSeq + 1}..${report.headSeq}`;
  const from = report.anchorSeq > 0 ? `, from its anchor at ${report.anchorSeq}` : '';
  const head = `chain ${chainName(report.chainId)}: ${report.checked} events checked${from}`;
  if (report.broken) {
    return `${head}; BROKEN at sequence ${report.broken.seq}: ${report.broken.reason}\n`;
  }
  return `${head} (${range}), ok\n`;
}

const { user, verbose } = options();
const config = loadConfigOrExit();
const deps = await createDependencies(
  { ...withoutRedis(config), migrateOnStart: false },
  { requireMigrated: true },
).catch(exitOnStartupError({ connectTimeoutMs: config.dbConnectTimeoutMs }));
try {
  const verifier = new SecurityLogVerifier(deps.database.db);
  const print = (report: ChainReport) => {
    if (verbose || user || report.broken) process.stdout.write(line(report));
  };
  const reports = user
    ? [await verifier.verifyChain(user)].map((r) => (print(r), r))
    : await verifier.verifyAll(print);
  const broken = reports.filter((r) => r.broken);
  const events = reports.reduce((sum, r) => sum + r.checked, 0);
  process.stdout.write(
    `security log: ${reports.length} chain(s), ${events} event(s) checked, ` +
      `${broken.length === 0 ? 'all intact' : `${broken.length} broken`}\n`,
  );
  if (user && reports[0]?.headSeq === 0 && events === 0) {
    process.stdout.write(`no events recorded for ${user}\n`);
  }
  if (broken.length > 0) process.exitCode = 1;
} finally {
  await closeDependencies(deps);
}
