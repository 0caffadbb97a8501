import type { AnyJobDefinition } from './job.js';

export class JobRegistryError extends Error {
  override readonly name = 'JobRegistryError';
}

/**
 * Every job type mapped to its one handler. Built at start-up from the list of known types
 * and the modules' definitions: a missing, duplicated or unknown handler stops the process
 * there, not when the first such job arrives.
 */
export type OutcomeListener = (type: string, outcome: 'completed' | 'failed', ms: number) => void;

export class JobRegistry {
  private readonly byType: Map<string, AnyJobDefinition>;
  private outcomeListener: OutcomeListener = () => {};

  constructor(types: readonly string[], definitions: readonly AnyJobDefinition[]) {
    const byType = new Map<string, AnyJobDefinition>();
    const problems: string[] = [];
    for (const definition of definitions) {
      if (!types.includes(definition.type)) problems.push(`unknown job type ${definition.type}`);
      else if (byType.has(definition.type)) problems.push(`two handlers for ${definition.type}`);
      byType.set(definition.type, definition);
    }
    for (const type of types) if (!byType.has(type)) problems.push(`no handler for ${type}`);
    if (problems.length > 0) throw new JobRegistryError(`Job registry: ${problems.join('; ')}`);
    this.byType = byType;
  }

  definition(type: string): AnyJobDefinition {
    const found = this.byType.get(type);
    // Rows written by a newer release, or renamed types: fail the job, keep the row for later.
    if (!found) throw new JobRegistryError(`no handler for job type ${type}`);
    return found;
  }

  /** Told of every run's outcome, whichever runner ran it (the metrics count them). */
  observeOutcomes(listener: OutcomeListener): void {
    this.outcomeListener = listener;
  }

  recordOutcome(type: string, outcome: 'completed' | 'failed', ms: number): void {
    this.outcomeListener(type, outcome, ms);
  }

  /** The queues the registered jobs use, each once. */
  queueNames(): string[] {
    return [...new Set([...this.byType.values()].map((d) => d.queue))];
  }
}
