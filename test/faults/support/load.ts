import { sleep } from '../../support/time.js';

export interface Load {
  /** Stops starting new steps and waits for the running ones. */
  stop(): Promise<void>;
}

/**
 * A steady load: `loops` concurrent loops, each running `step` then pausing `pauseMs`, until
 * stopped. The pause keeps the rate modest and steady on a small shared machine; what each step
 * sent is recorded by its HttpClient.
 */
export function startLoad(
  loops: number,
  pauseMs: number,
  step: (loop: number) => Promise<void>,
): Load {
  let running = true;
  const finished = Array.from({ length: loops }, async (_, loop) => {
    while (running) {
      await step(loop);
      await sleep(pauseMs);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(finished);
    },
  };
}
