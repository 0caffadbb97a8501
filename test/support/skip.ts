/**
 * TEST_SERVICES=none (set by `npm run test:fast`): the suites that need PostgreSQL or Redis are
 * skipped without probing for them; the embedded engine still runs.
 */
export const servicesOff = process.env.TEST_SERVICES === 'none';

/**
 * A suite that needs a server it can't reach is skipped with the reason on a developer's
 * machine, and fails when CI is set: CI must never pass by skipping.
 */
export function skipOrFail(service: string, reason: string): string {
  const message = `${service} unreachable (${reason})`;
  if (process.env.CI) throw new Error(`${message}; CI requires it`);
  process.stderr.write(`# skipping ${service} suites: ${message}\n`);
  return message;
}
