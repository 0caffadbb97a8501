/**
 * Concurrent calls for one key share one execution: 200 simultaneous misses for a user make
 * one database read in this process. `forget` detaches the running call, so callers that
 * arrive after a write start a fresh read instead of joining one that may predate the write.
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = work().finally(() => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    });
    this.inFlight.set(key, started);
    return started;
  }

  forget(key: string): void {
    this.inFlight.delete(key);
  }
}
