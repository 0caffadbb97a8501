import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Makes a race observable instead of hoped for. Installed with startApp's `beforeReady`, it
 * counts the matching requests in flight at once (`maxInFlight`). Armed with `hold(parties)`,
 * it also holds each matching request as it arrives until `parties` of them are there,
 * then lets them all go at once (before authentication, validation and the handler): a race test that passes has really raced.
 */
export class RaceGate {
  private inFlight = 0;
  private max = 0;
  private parties = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly matches: (req: FastifyRequest) => boolean) {}

  /** The most matching requests in flight at once since the last hold(). */
  get maxInFlight() {
    return this.max;
  }

  /** The next `parties` matching requests wait for each other at the pre-handler. */
  hold(parties: number) {
    this.parties = parties;
    this.max = 0;
  }

  install = (server: FastifyInstance) => {
    server.addHook('onRequest', async (req) => {
      if (!this.matches(req)) return;
      this.inFlight++;
      this.max = Math.max(this.max, this.inFlight);
      if (this.parties > 0) await this.arrive();
    });
    server.addHook('onResponse', async (req) => {
      if (this.matches(req)) this.inFlight--;
    });
  };

  private arrive() {
    const arrived = new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      // Never a hang: a party that doesn't come shows as a maxInFlight short of the count.
      setTimeout(resolve, 5_000).unref();
    });
    if (this.waiting.length >= this.parties) {
      this.parties = 0;
      for (const release of this.waiting.splice(0)) release();
    }
    return arrived;
  }
}
