import type { OutboxEntry, OutboxOverview, OutboxState } from '../../jobs/outbox.repository.js';
import { OUTBOX_STATES } from '../../jobs/outbox.repository.js';
import { escapeHtml } from '../../mail/html.js';
import type { Dashboard } from './admin.js';
import { renderPage, sendPage } from './html-page.js';
import { logoutForm } from './login-page.js';

/** The rows of each state the page lists. */
const LATEST = 20;

/** The read side of the outbox the page needs (OutboxRepository provides it). */
export interface OutboxOverviewSource {
  overview(limit: number): Promise<OutboxOverview>;
}

const TITLES: Record<OutboxState, string> = {
  pending: 'Pending',
  sent: 'Sent',
  dead: 'Dead (gave up after the last attempt)',
};

const time = (value: Date | null) =>
  value === null ? '' : `<time datetime="${value.toISOString()}">${value.toISOString()}</time>`;

function row(entry: OutboxEntry, state: OutboxState): string {
  const when = state === 'pending' ? time(entry.availableAt) : time(entry.finishedAt);
  return `<tr>
<td><code>${escapeHtml(entry.id)}</code></td>
<td>${escapeHtml(entry.type)}</td>
<td>${entry.attempts}</td>
<td class="error-text">${escapeHtml(entry.lastError ?? '')}</td>
<td>${time(entry.createdAt)}</td>
<td>${when}</td>
<td>${time(entry.updatedAt)}</td>
</tr>`;
}

function table(state: OutboxState, entries: OutboxEntry[]): string {
  const next = state === 'pending' ? 'Next attempt' : state === 'sent' ? 'Sent' : 'Died';
  const body = entries.length
    ? entries.map((e) => row(e, state)).join('\n')
    : '<tr><td colspan="7">None</td></tr>';
  return `<section id="${state}">
<h2>${TITLES[state]}</h2>
<table>
<thead><tr><th>Id</th><th>Job type</th><th>Attempts</th><th>Last error</th><th>Created</th><th>${next}</th><th>Updated</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
</section>`;
}

export function outboxPage(overview: OutboxOverview): string {
  const counts = OUTBOX_STATES.map(
    (state) =>
      `<div class="count" data-state="${state}"><strong>${overview.counts[state]}</strong>${state}</div>`,
  ).join('');
  return renderPage(
    'Jobs',
    `<main>
<header><h1>Jobs (outbox)</h1>${logoutForm()}</header>
<p>Jobs run in this process from the outbox table (no queue Redis is configured). Dead jobs
stay until the pruner removes them; the latest ${LATEST} of each state are listed.</p>
<div class="counts">${counts}</div>
${OUTBOX_STATES.map((state) => table(state, overview.latest[state])).join('\n')}
</main>`,
  );
}

/**
 * Without a queue Redis there is no BullMQ to show: jobs run in process from the outbox, so
 * the dashboard is the outbox itself, read-only, rendered on the server.
 */
export function outboxDashboard(outbox: OutboxOverviewSource): Dashboard {
  return async (scope) => {
    scope.get('/', { schema: { hide: true } }, async (_request, reply) =>
      sendPage(reply, 200, outboxPage(await outbox.overview(LATEST))),
    );
  };
}
