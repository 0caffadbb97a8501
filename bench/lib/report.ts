import type { EmailThroughput } from './email-throughput.js';
import fs from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import type { LoadResult } from './load.js';
import {
  EMBEDDED_IDLE_MS,
  EMBEDDED_RSS_TARGET_MB,
  RESTART_TARGET_MS,
  type StartupTimes,
} from './servers.js';
import { withoutPassword, type BenchSettings } from './settings.js';

/** The results of one `npm run bench`: tables on stdout, a JSON file, and bench/README.md. */

/** PostgreSQL mode's resident memory budget, SETTLE_MS after the load. */
export const RSS_TARGET_MB = 150;
/** How long the PostgreSQL-mode server idles after the load before its budget is read. */
export const SETTLE_MS = 60_000;

export interface Machine {
  os: string;
  cpu: string;
  cpus: number;
  memoryGb: number;
  node: string;
  postgres: string;
}

export interface ScenarioReport {
  name: string;
  description: string;
  ratioTarget: number | null;
  p95TargetMs: number | null;
  /** Stratum's p99 at most this many times the baseline's; null for none. */
  p99VsBaseline: number | null;
  /** What the baseline rows are called in the table: `baseline` (a bare server) or `pgbench`. */
  baselineName: string;
  baseline: LoadResult[];
  stratum: LoadResult[];
  ratio: number | null;
  pass: boolean;
  /** Why the measurement itself is not to be trusted (errors, non-2xx); empty when sound. */
  problems: string[];
}

export interface MemoryReport {
  /** Before the load, just started. */
  stratumIdleRssMb: number;
  /** As the load ends. */
  stratumRssMb: number;
  /** SETTLE_MS after the load, idle: the figure judged against the target. */
  stratumSettledRssMb: number;
  baselineRssMb: number | null;
  targetMb: number;
  pass: boolean;
}

export interface BenchReport {
  startedAt: string;
  machine: Machine;
  settings: BenchSettings;
  selection: string;
  seededUsers: number;
  startup: StartupTimes & { postgresMs: number };
  memory: MemoryReport;
  /** One-minute load average as the load began and as it ended: how busy the machine was. */
  loadAverage: { before: number; after: number };
  scenarios: ScenarioReport[];
  /** Welcome emails per second through one worker with a no-op transport. */
  emails: EmailThroughput;
}

export function describeMachine(postgresVersion: string): Machine {
  const cpus = os.cpus();
  return {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    // "PostgreSQL 15.20 (Debian ...) on x86_64..., compiled by ...": the part before " on ".
    postgres: postgresVersion.split(' on ')[0] ?? postgresVersion,
  };
}

/** The run kept for each server: its highest req/s, so one disturbed round does not decide. */
export function bestOf(runs: LoadResult[]): LoadResult {
  return runs.reduce((best, run) => (run.reqPerSec > best.reqPerSec ? run : best));
}

export function selectionOf(settings: BenchSettings): string {
  const rounds = settings.rounds === 1 ? '1 round' : `${settings.rounds} alternating rounds`;
  return `best of ${rounds} by req/s (baseline first); ${settings.durationS} s runs after ${settings.warmupS} s warm-up; ${settings.connections} connections`;
}

type Table = { header: string[]; rows: string[][] };

const fixed = (value: number, digits = 0) => value.toFixed(digits);
const thousands = (value: number) => Math.round(value).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const megabytes = (mb: number) => `${fixed(mb)} MB`;
const verdict = (pass: boolean) => (pass ? 'pass' : 'fail');

function loadTable(scenarios: ScenarioReport[]): Table {
  const header = [
    'scenario',
    'server',
    'req/s',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'CPU µs/req',
    'ratio',
    'target',
    'result',
  ];
  const rows = scenarios.flatMap((s) => {
    const stratum = bestOf(s.stratum);
    const judged = s.ratio !== null || s.p95TargetMs !== null;
    const result = s.problems.length ? 'invalid' : judged ? verdict(s.pass) : 'reported';
    const targets = [
      s.ratioTarget === null ? '' : fixed(s.ratioTarget, 2),
      s.p95TargetMs === null ? '' : `p95 < ${s.p95TargetMs} ms`,
      s.p99VsBaseline === null ? '' : `p99 ≤ ${s.p99VsBaseline}× ${s.baselineName}`,
    ];
    const figures = (r: LoadResult) => [
      thousands(r.reqPerSec),
      fixed(r.p50Ms),
      fixed(r.p95Ms),
      fixed(r.p99Ms),
      r.cpuUsPerReq === null ? '' : fixed(r.cpuUsPerReq),
    ];
    const ours = [
      s.name,
      'stratum',
      ...figures(stratum),
      s.ratio === null ? '' : fixed(s.ratio, 2),
      targets.filter(Boolean).join(', '),
      result,
    ];
    if (s.baseline.length === 0) return [ours];
    return [[s.name, s.baselineName, ...figures(bestOf(s.baseline)), '1.00', '', ''], ours];
  });
  return { header, rows };
}

function processTable({ startup, memory, loadAverage, emails }: BenchReport): Table {
  const target = `< ${memory.targetMb} MB`;
  return {
    header: ['measure', 'value', 'target', 'result'],
    rows: [
      ...startupRows(startup),
      [
        `emails/s, one worker (concurrency ${emails.concurrency}), no-op transport, ${emails.emails} jobs`,
        fixed(emails.perSecond),
        '',
        'reported',
      ],
      ['start-up, PostgreSQL', seconds(startup.postgresMs), '', ''],
      [
        `Stratum RSS ${SETTLE_MS / 1000} s after the load, idle`,
        megabytes(memory.stratumSettledRssMb),
        target,
        verdict(memory.pass),
      ],
      ['Stratum RSS after the load', megabytes(memory.stratumRssMb), '', ''],
      ['Stratum RSS before the load', megabytes(memory.stratumIdleRssMb), '', ''],
      [
        'baseline RSS after the load (tsx loaded)',
        memory.baselineRssMb === null ? 'no baseline server' : megabytes(memory.baselineRssMb),
        '',
        '',
      ],
      [
        'load average (1 min), before / after the load',
        `${fixed(loadAverage.before, 2)} / ${fixed(loadAverage.after, 2)}`,
        '',
        '',
      ],
    ],
  };
}

/** The median restart, judged against the target; every run in the label. */
function restartRow({ restartMs }: StartupTimes): string[] {
  const median = medianOf(restartMs);
  const runs = restartMs.map((ms) => (ms / 1000).toFixed(2)).join(', ');
  return [
    `restart, \`npm start\`, embedded, build up to date (median of ${runs} s)`,
    seconds(median),
    `< ${seconds(RESTART_TARGET_MS)}`,
    verdict(median < RESTART_TARGET_MS),
  ];
}

export function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function startupRows(startup: StartupTimes): string[][] {
  return [
    ['start-up, embedded, first (creates the database)', seconds(startup.embeddedFirstMs), '', ''],
    [
      `embedded RSS ${EMBEDDED_IDLE_MS / 1000} s after that first start, idle`,
      megabytes(startup.embeddedRssMb),
      `< ${EMBEDDED_RSS_TARGET_MB} MB`,
      verdict(startup.embeddedRssMb < EMBEDDED_RSS_TARGET_MB),
    ],
    ['start-up, embedded, warm', seconds(startup.embeddedWarmMs), '', ''],
    restartRow(startup),
  ];
}

/** The start-up rows alone: what `BENCH_SCENARIOS=startup` measures. */
export function printStartup(
  startup: StartupTimes,
  loadAverage: { before: number; after: number },
) {
  const header = ['measure', 'value', 'target', 'result'];
  const load = [
    'load average (1 min), before / after',
    `${fixed(loadAverage.before, 2)} / ${fixed(loadAverage.after, 2)}`,
    '',
    '',
  ];
  const rows = [...startupRows(startup), load];
  process.stdout.write(`\n${textTable({ header, rows })}\n`);
}

function textTable({ header, rows }: Table): string {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => r[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
  return [header, ...rows].map((row) => line(row).trimEnd()).join('\n');
}

function markdownTable({ header, rows }: Table): string {
  const line = (row: string[]) => `| ${row.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function problemLines(report: BenchReport): string[] {
  return report.scenarios.flatMap((s) => s.problems.map((p) => `invalid run in ${s.name}: ${p}`));
}

/** What scenarios found after their kept Stratum run (e.g. the outbox backlog it left). */
function settledLines(report: BenchReport): string[] {
  return report.scenarios.flatMap((s) => {
    const settled = s.stratum.length ? bestOf(s.stratum).settled : undefined;
    return settled ? [`${s.name}, kept run: ${settled}`] : [];
  });
}

export function printReport(report: BenchReport) {
  const text = [
    textTable(loadTable(report.scenarios)),
    report.selection,
    '',
    textTable(processTable(report)),
    ...settledLines(report),
    ...problemLines(report),
  ];
  process.stdout.write(`\n${text.join('\n')}\n`);
}

/** bench/results/<ISO 8601 basic timestamp>.json: no colons, so the name is valid everywhere. */
export async function writeResults(report: BenchReport): Promise<string> {
  const stamp = report.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = new URL(`../results/${stamp}.json`, import.meta.url);
  const settings = {
    ...report.settings,
    databaseUrl: withoutPassword(report.settings.databaseUrl),
    pgbench: {
      ...report.settings.pgbench,
      databaseUrl: withoutPassword(report.settings.pgbench.databaseUrl),
    },
  };
  await fs.writeFile(file, `${JSON.stringify({ ...report, settings }, null, 2)}\n`);
  return `bench/results/${stamp}.json`;
}

const HOW_TO = `# Benchmarks

\`npm run bench\` builds the service and compares it under load with bare servers that do the
same work with nothing around it (\`bench/baseline-*.ts\`: plain Fastify and a \`pg\` Pool, the
same SQL and the same response envelope). Stratum must reach the scenario's target share of the
baseline's requests per second.

It needs PostgreSQL: \`BENCH_DATABASE_URL\` (default
\`postgres://postgres@127.0.0.1:5432/stratum_bench\`). It creates that database when it is missing
(through the \`postgres\` or \`test\` database on the same server), migrates it and seeds it up to
\`BENCH_USERS\` users with the code behind \`npm run db:seed\`. Then it:

1. times the embedded start-up, spawn to the first 200 from \`/health/ready\`: \`node dist/main.js\`
   without \`DATABASE_URL\` on an empty temporary \`DATA_DIR\` (that start creates the embedded
   database), leaves it idle until ${EMBEDDED_IDLE_MS / 1000} s after its spawn and reads its resident memory
   (\`VmRSS\`, target < ${EMBEDDED_RSS_TARGET_MB} MB), then starts it again on the same folder, then a developer's
   restart three times: \`npm start\` (the build check, then \`node dist/main.js\`) in development
   on the same folder, whose median must stay under ${RESTART_TARGET_MS / 1000} s. \`BENCH_SCENARIOS=startup npm run bench\`
   runs this step alone (no PostgreSQL needed, about a minute and a half) and prints its rows,
   leaving the results and this file as they are;
2. starts \`node dist/main.js\` on the database (\`NODE_ENV=production\`, \`LOG_LEVEL=warn\`, a pool
   of 20) and each scenario's baseline server (a pool of 20), each on a free port;
3. for every scenario in \`bench/scenarios/\`, checks that both servers answer a sample request
   with the same data, then loads them in turn with autocannon, alternating baseline and
   Stratum for \`BENCH_ROUNDS\` rounds, each run after a warm-up, and keeps each server's best
   round by req/s (the ledger scenarios alternate with pgbench instead, see below);
4. reads Stratum's resident memory (\`VmRSS\`) before the load, as it ends, and after ${SETTLE_MS / 1000} s
   left idle (target < ${RSS_TARGET_MB} MB then, the in-process caches at their default sizes);
5. prints the tables, writes everything to \`bench/results/<timestamp>.json\` (not committed) and
   rewrites this file. It exits with 1 when a run had errors or non-2xx answers (the table says
   \`invalid\`), not when a target is missed (\`fail\`).

| variable | default | meaning |
| --- | --- | --- |
| \`BENCH_DATABASE_URL\` | \`postgres://postgres@127.0.0.1:5432/stratum_bench\` | the PostgreSQL database |
| \`BENCH_USERS\` | 100000 | users the database must hold |
| \`BENCH_CONNECTIONS\` | 50 | concurrent connections (\`posts-search\` has its own, below) |
| \`BENCH_DURATION_S\` | 10 | seconds per timed run |
| \`BENCH_WARMUP_S\` | 3 | untimed seconds before each run |
| \`BENCH_ROUNDS\` | 3 | alternating rounds per scenario |
| \`BENCH_SCENARIOS\` | all | comma-separated scenario names; \`startup\` alone times the start-ups only |
| \`BENCH_REDIS_URL\` | \`redis://127.0.0.1:6379\` | Redis for the cached scenarios and the email jobs |
| \`BENCH_PGBENCH_DATABASE_URL\` | \`stratum_pgbench\` on the bench database's server | pgbench's database |
| \`BENCH_PGBENCH_SCALE\` | 50 | \`pgbench -i -s\`: branches, TPC-B's hot rows |
| \`BENCH_PGBENCH_CLIENTS\` | \`BENCH_CONNECTIONS\` | \`pgbench -c\` |
| \`BENCH_POSTS\` | 1000000 | posts \`posts-search\` searches (seeded when fewer) |
| \`BENCH_SEARCH_CONNECTIONS\` | 4 | concurrent connections of \`posts-search\` |

A scenario is an object (\`name\`, \`description\`, \`ratioTarget\`, \`baseline\`, \`prepare\`,
optionally \`settle\`) in \`bench/scenarios/\`, listed in \`bench/scenarios/index.ts\`; \`prepare\`
reads what the requests need from the seeded database (or sets it up through Stratum's API) and
returns the autocannon requests; \`settle\` waits for what a Stratum run left behind. The load generator runs on the
same machine as the servers and PostgreSQL, so the figures compare the two servers with each
other; they are not capacity figures. \`CPU µs/req\` is the server process's CPU time (user and
system, from \`/proc\`) per request during the kept run: it moves less than req/s when other work
shares the cores, and the load average shows how much other work there was. Requests carry no
\`accept-encoding\`, so neither side compresses. The baseline runs under tsx, which adds some MB
to its RSS. \`p95 ms\` is computed from every response time of the run (autocannon's own
summary has p90 and p97.5, not p95).

### Transfers and orders against pgbench

A money movement's cost is its commit, so \`transfers\` and \`orders\` are compared with what the
same PostgreSQL server commits under pgbench's built-in TPC-B-like script, measured in the same
bench run: one TPC-B transaction (three updates, a select and an insert, then commit) is one
movement and one commit, like one transfer. pgbench gets a database of its own
(\`stratum_pgbench\`, created and initialised with \`pgbench -i -s BENCH_PGBENCH_SCALE\` when
missing or at another scale, then kept), and each round runs
\`pgbench -c BENCH_PGBENCH_CLIENTS -j <cores> -T BENCH_DURATION_S -M prepared -l\` after an untimed
run of \`BENCH_WARMUP_S\`; the figure is its tps without initial connection time (Stratum's pool
is open before its clock starts too), the latency percentiles come from its per-transaction log,
and there is no CPU figure (no server process of its own). The \`pgbench\` row is the baseline
row of the scenario; the ratio is Stratum's req/s over it (targets 1.0 for transfers, 0.60 for
orders). The defaults give pgbench as many clients as autocannon has connections and a scale
of 50, so its branch rows are not one hot spot that would make it slow.

\`transfers-1\`, \`orders-1\`, \`transfers-200\` and \`orders-200\` are the same requests at 1 and
200 connections, each against pgbench with as many clients (\`-c 1\`, \`-c 200\`) on tables of a
scale at least that count (\`-s 200\`, in a database of its own, \`stratum_pgbench_s200\`, kept
like the first); Stratum's pool stays at 20, and its \`LOAD_SHED_CRITICAL_IN_FLIGHT\` is 256
(the default, 128, would answer 503 to every money write beyond 128 in flight). Besides the
ratio, their p99 must be at most twice pgbench's. At 200 clients the server needs
\`max_connections\` of at least 230: the bench checks before any load and leaves those
scenarios out (the reason in its log) when it is lower. \`transfers-hot-payer\` (every
transfer from one wallet) and \`transfers-hot-payee\` (every transfer into one wallet) are
reported beside \`transfers\`, whose figures are the uniform case; orders all pay the one
merchant already (one of its 16 rows at random), so \`orders\` is its own hot-account row.

- \`transfers\`: 1,000 random active seeded users' USD wallets, topped up by deposits through
  the API as an admin (a deposit is a movement from the issuer, so the ledger still sums to
  zero); each request is \`POST /api/v1/transfers\` between a random pair, as the payer, with a
  fresh \`Idempotency-Key\`. A transfer is \`201\` only when it committed.
- \`orders\`: 1,000 wallets funded the same way buy 1–3 of 20 bench products (created through the API when
  missing), 1–3 of each, with an \`Idempotency-Key\`. Each order's confirmation email goes to
  the outbox in its transaction; the bench Stratum has no Redis, so its in-process runner sends
  the emails (to files in a temporary \`DATA_DIR\`) while the load runs, sharing its CPU and
  pool. What is left when the load stops is waited for before the next run, so it doesn't
  slow pgbench, and the report says how many emails that was for the kept run.

### Search latency

\`posts-search\` has a latency target, p95 < 25 ms, and no baseline. A latency means something
only at a stated load, so the scenario runs at its own \`BENCH_SEARCH_CONNECTIONS\` (4)
concurrent connections whatever \`BENCH_CONNECTIONS\` says: on two cores shared by the API,
PostgreSQL and autocannon, 50 connections would measure mostly the wait for a core. Each request
is \`GET /api/v1/posts?q=<word> <word>\` as a guest, a random pair of the 80 most drawn topic
words of the seed (\`commonTopicWords\` in \`src/cli/seed-words.ts\`), over \`BENCH_POSTS\` seeded
posts: nine pairs in ten are words of two topics that few or no posts share, one in ten words of
one topic that match 2–12 % of the posts. The kept round is the one with the most req/s; the
scenario passes when that round's p95 is under 25 ms (\`p95TargetMs\`).
`;

function readme(report: BenchReport): string {
  const m = report.machine;
  const scenarios = report.scenarios.map((s) => `- \`${s.name}\`: ${s.description}`);
  return `${HOW_TO}
## Latest run

${report.startedAt}: ${m.cpus} x ${m.cpu}, ${m.memoryGb} GB RAM, ${m.os}, Node.js ${m.node},
${m.postgres}. ${report.selection[0]!.toUpperCase()}${report.selection.slice(1)}.

${markdownTable(loadTable(report.scenarios))}

${markdownTable(processTable(report))}

${[...scenarios, ...[...settledLines(report), ...problemLines(report)].map((p) => `- ${p}`)].join('\n')}
`;
}

/** Formatted as `npm run lint` expects, so a fresh run leaves the tree lint-clean. */
export async function writeReadme(report: BenchReport) {
  const file = fileURLToPath(new URL('../README.md', import.meta.url));
  const options = await prettier.resolveConfig(file);
  const text = await prettier.format(readme(report), { ...options, filepath: file });
  await fs.writeFile(file, text);
}
