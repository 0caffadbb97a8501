import { writeFileSync } from 'node:fs';
import { DOCUMENTED_CODES, SERVER_FAULT_CODES } from './codes.js';
import { SEED } from './settings.js';

/** One thing the suite found wrong, with what replays it. */
export interface Finding {
  /** The failure class: `500 INTERNAL_SERVER_ERROR`, `undocumented code X`, `not the envelope`. */
  kind: string;
  operation: string;
  role: string;
  /** The field and value class that produced it, or the structural variant's name. */
  variant: string;
  status: number;
  code?: string;
  message?: string;
  /** The smallest request found that shows it, as `server.inject` takes it. */
  example: unknown;
  /** fast-check's replay of the property: its seed and path. */
  replay?: { seed: number; path?: string };
  /** How many requests showed this kind on this operation. */
  count: number;
  /** Every field and value class (or whole-request variant) that showed it, with its role. */
  variants: string[];
}

export interface Problem {
  kind: string;
  status: number;
  code?: string;
  message?: string;
}

export interface OperationStats {
  operation: string;
  sent: number;
  validation: number;
  handler: number;
  ok: number;
  clientErrors: number;
  serverErrors: number;
  /** Roles with at least one request that reached the handler. */
  handlerRoles: Set<string>;
  /** Statuses the document doesn't list for the operation (informational). */
  undocumentedStatuses: Map<number, number>;
  unsendable: number;
  skippedForTime: number;
}

const MAX_EXAMPLE_STRING = 300;

/** Long strings shortened for the report; the seed replays the full value. */
export function abbreviate(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    const shown =
      value.length > MAX_EXAMPLE_STRING ? `${value.slice(0, 80)}…(${value.length} chars)` : value;
    return shown;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = value.slice(0, 5).map((v) => abbreviate(v, depth + 1));
    return value.length > 5 ? [...items, `…(${value.length} items)`] : items;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, abbreviate(v, depth + 1)]));
}

/** `METHOD url [headers] body`: short enough to paste into a test. */
function exampleLine(example: unknown): string {
  const e = abbreviate(example) as {
    method?: string;
    url?: string;
    headers?: Record<string, string>;
    body?: unknown;
  };
  const headers = Object.entries(e.headers ?? {})
    .filter(([k, v]) => !(k === 'content-type' && v === 'application/json'))
    .map(([k, v]) => `${k}: ${v}`);
  const body =
    e.body === undefined ? '' : typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
  return `${e.method ?? '?'} ${e.url ?? '?'}${headers.length ? ` [${headers.join('; ')}]` : ''} ${body}`.trim();
}

export class Findings {
  readonly byKey = new Map<string, Finding>();
  readonly stats = new Map<string, OperationStats>();

  statsOf(operation: string): OperationStats {
    let stats = this.stats.get(operation);
    if (!stats) {
      stats = {
        operation,
        sent: 0,
        validation: 0,
        handler: 0,
        ok: 0,
        clientErrors: 0,
        serverErrors: 0,
        handlerRoles: new Set(),
        undocumentedStatuses: new Map(),
        unsendable: 0,
        skippedForTime: 0,
      };
      this.stats.set(operation, stats);
    }
    return stats;
  }

  /** Records a problem: the first example of a kind on an operation stays, the variants add up. */
  add(finding: Omit<Finding, 'count' | 'variants'>) {
    const key = `${finding.kind}\u0000${finding.operation}`;
    const existing = this.byKey.get(key);
    const variant = `${finding.variant} as ${finding.role}`;
    if (!existing) {
      this.byKey.set(key, { ...finding, count: 1, variants: [variant] });
      return;
    }
    existing.count++;
    if (!existing.variants.includes(variant)) existing.variants.push(variant);
  }

  list(): Finding[] {
    return [...this.byKey.values()].sort(
      (a, b) => a.kind.localeCompare(b.kind) || a.operation.localeCompare(b.operation),
    );
  }

  /** The findings grouped by kind, printable. */
  render(): string {
    const lines: string[] = [];
    const groups = new Map<string, Finding[]>();
    for (const f of this.list()) groups.set(f.kind, [...(groups.get(f.kind) ?? []), f]);
    for (const [kind, findings] of groups) {
      lines.push(`\n## ${kind} — ${findings.length} operation(s)`);
      for (const f of findings) {
        lines.push(
          `- ${f.operation} — ${f.status}${f.code ? ` ${f.code}` : ''}` +
            (f.message ? ` "${f.message.slice(0, 160)}"` : '') +
            ` (${f.count}×)`,
        );
        const more = f.variants.length > 6 ? `; …${f.variants.length - 6} more` : '';
        lines.push(`    from: ${f.variants.slice(0, 6).join('; ')}${more}`);
        lines.push(`    example (${f.variant} as ${f.role}): ${exampleLine(f.example)}`);
        const property = f.replay
          ? ` (fast-check seed ${f.replay.seed}${f.replay.path ? `, path ${f.replay.path}` : ''})`
          : '';
        lines.push(`    replay: HOSTILE_SEED=${SEED} HOSTILE_ONLY='${f.operation}'${property}`);
      }
    }
    return lines.join('\n');
  }

  /** Variants the schema refuses by construction that were answered 2xx (informational). */
  readonly acceptedInvalid = new Map<string, { count: number; example: string }>();

  noteAcceptedInvalid(operation: string, variant: string, example: unknown) {
    const key = `${operation} [${variant}]`;
    const seen = this.acceptedInvalid.get(key);
    if (seen) seen.count++;
    else this.acceptedInvalid.set(key, { count: 1, example: exampleLine(example) });
  }

  renderAcceptedInvalid(): string {
    return [...this.acceptedInvalid]
      .map(([key, { count, example }]) => `- ${key} ×${count}: ${example}`)
      .join('\n');
  }

  table(): string {
    const rows = [...this.stats.values()];
    const header = [
      'operation',
      'sent',
      'valid.',
      'handler',
      'roles@handler',
      '2xx',
      '4xx',
      '5xx',
      'skipped',
    ];
    const body = rows.map((s) => [
      s.operation,
      String(s.sent),
      String(s.validation),
      String(s.handler),
      [...s.handlerRoles].sort().join(',') || '-',
      String(s.ok),
      String(s.clientErrors),
      String(s.serverErrors),
      String(s.unsendable + s.skippedForTime),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
  }

  undocumentedStatuses(): string {
    const lines: string[] = [];
    for (const s of this.stats.values()) {
      if (s.undocumentedStatuses.size === 0) continue;
      const list = [...s.undocumentedStatuses].map(([status, n]) => `${status}×${n}`).join(', ');
      lines.push(`- ${s.operation}: ${list}`);
    }
    return lines.join('\n');
  }

  write(path: string, extra: Record<string, unknown> = {}) {
    const stats = [...this.stats.values()].map((s) => ({
      ...s,
      handlerRoles: [...s.handlerRoles],
      undocumentedStatuses: Object.fromEntries(s.undocumentedStatuses),
    }));
    const findings = this.list().map((f) => ({ ...f, example: abbreviate(f.example) }));
    const acceptedInvalid = Object.fromEntries(this.acceptedInvalid);
    writeFileSync(path, JSON.stringify({ ...extra, findings, acceptedInvalid, stats }, null, 2));
  }
}

interface Envelope {
  error?: { code?: unknown; message?: unknown; details?: unknown };
  meta?: { timestamp?: unknown; requestId?: unknown };
}

/** What is wrong with a REST error body, if anything. */
export function envelopeProblem(status: number, body: string): Problem | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'error body is not JSON', status, message: body.slice(0, 200) };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { kind: 'error body is not the envelope', status, message: body.slice(0, 200) };
  }
  const envelope = parsed as Envelope;
  const keys = Object.keys(envelope).sort().join(',');
  const error = envelope.error;
  const meta = envelope.meta;
  if (
    keys !== 'error,meta' ||
    !error ||
    typeof error !== 'object' ||
    typeof error.code !== 'string' ||
    typeof error.message !== 'string' ||
    Object.keys(error).some((k) => !['code', 'message', 'details'].includes(k)) ||
    !meta ||
    typeof meta.timestamp !== 'string' ||
    Number.isNaN(Date.parse(meta.timestamp)) ||
    typeof meta.requestId !== 'string'
  ) {
    return { kind: 'error body is not the envelope', status, message: body.slice(0, 200) };
  }
  if (!DOCUMENTED_CODES.has(error.code)) {
    return {
      kind: `undocumented code ${error.code}`,
      status,
      code: error.code,
      message: error.message,
    };
  }
  if (SERVER_FAULT_CODES.has(error.code) && status < 500) {
    return { kind: `server fault code ${error.code} under ${status}`, status, code: error.code };
  }
  return undefined;
}

/** The code and message of a REST error body, for the report. */
export function errorOf(body: string): { code?: string; message?: string } {
  try {
    const parsed = JSON.parse(body) as Envelope;
    return {
      code: typeof parsed.error?.code === 'string' ? parsed.error.code : undefined,
      message: typeof parsed.error?.message === 'string' ? parsed.error.message : undefined,
    };
  } catch {
    return {};
  }
}
