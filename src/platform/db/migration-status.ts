import type { MigrationStatus } from './migrate.js';

/** What `npm run db:status` prints, and whether a deploy may go on (nothing pending or edited). */
export function statusReport(statuses: MigrationStatus[]): { text: string; ok: boolean } {
  const width = Math.max(0, ...statuses.map((s) => s.migration.length));
  const lines = statuses.map((s) => `${s.migration.padEnd(width)}  ${describe(s)}`.trimEnd());
  const count = (state: MigrationStatus['state']) =>
    statuses.filter((s) => s.state === state).length;
  const [applied, pending, edited, unknown] = [
    count('applied'),
    count('pending'),
    count('edited'),
    count('unknown'),
  ];
  const summary = [
    `${applied} applied`,
    `${pending} pending`,
    ...(edited ? [`${edited} edited`] : []),
    ...(unknown ? [`${unknown} unknown`] : []),
  ].join(', ');
  const advice = [
    ...(edited
      ? ['edited: restore the files as they were applied and add a new migration instead']
      : []),
    ...(pending ? ['pending: run `npm run db:migrate`'] : []),
    ...(unknown
      ? [
          'unknown: recorded in the database but not in migrations/ (a newer release, or a deleted file)',
        ]
      : []),
  ];
  return {
    text: [...lines, '', summary, ...advice].join('\n') + '\n',
    ok: pending === 0 && edited === 0,
  };
}

function describe(s: MigrationStatus): string {
  const when = s.appliedAt ? timestamp(s.appliedAt) : '';
  switch (s.state) {
    case 'pending':
      return 'pending';
    case 'applied':
      return `applied ${when}${s.recordedChecksum === null ? '  (no checksum yet: db:migrate records it)' : ''}`;
    case 'edited':
      return (
        `EDITED  applied ${when}, its file changed since ` +
        `(checksum ${s.recordedChecksum!.slice(0, 12)} when applied, ${s.fileChecksum!.slice(0, 12)} now)`
      );
    case 'unknown':
      return `unknown applied ${when}, no file in migrations/`;
  }
}

/** UTC to the second: the same on every machine that reads the same database. */
function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}
