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
