import { duplicateClient, type RedisClient } from '../redis/connect.js';

export interface InvalidationBusOptions {
  /** How often the subscription is confirmed by a PING through it (see `confirmedAt`). */
  heartbeatMs: number;
  /** The subscriber's CLIENT SETNAME, to find it in CLIENT LIST. */
  connectionName?: string;
}

type Handler = (message: string) => void;
type ConnectionListener = (subscribed: boolean) => void;

/**
 * One Redis subscriber connection per process (a `duplicate()` of the main one), shared by
 * whatever keeps an in-process copy of shared state: the two-level cache listens here for the
 * keys other processes wrote. Publishers use the main connection (or a Lua script).
 *
 * Redis pub/sub delivers at most once: a message published while the connection is down is
 * lost. So `onConnection(false)` says every copy built on this bus must be dropped, and
 * `onConnection(true)` — once subscribed again to every channel — is the moment to resync.
 *
 * `confirmedAt` turns "eventually" into a bound: a PING sent through the subscriber connection
 * at time T is answered after every message published before Redis ran it, so when its PONG
 * arrives, every message published before T has been handled. A process that serves its copy
 * only while `now - confirmedAt` is below a bound B serves nothing older than B after a publish.
 */
export class InvalidationBus {
  private subscriber: RedisClient | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly handlers = new Map<string, Handler[]>();
  private readonly listeners: ConnectionListener[] = [];
  private up = false;
  /** Changes on every connection loss and resubscription: late replies of an old one are ignored. */
  private epoch = 0;
  private confirmed = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: InvalidationBusOptions,
  ) {}

  /** Handles every message on the channel; subscribes now if the bus is running. */
  on(channel: string, handler: Handler): void {
    const known = this.handlers.get(channel);
    if (known) known.push(handler);
    else {
      this.handlers.set(channel, [handler]);
      if (this.subscriber?.status === 'ready') void this.subscribe();
    }
  }

  /** false: the subscription is lost (messages may be missed); true: subscribed again. */
  onConnection(listener: ConnectionListener): void {
    this.listeners.push(listener);
  }

  get subscribed(): boolean {
    return this.up;
  }

  /** Every message published since the last (re)subscription and before this time was handled. */
  get confirmedAt(): number {
    return this.up ? this.confirmed : 0;
  }

  /** Publishes on the main connection. */
  async publish(channel: string, message: string): Promise<void> {
    await this.redis.publish(channel, message);
  }

  /** Connects in the background (ioredis retries on its own); idempotent. */
  start(): void {
    if (this.subscriber) return;
    const subscriber = duplicateClient(this.redis, {
      lazyConnect: true,
      // Resubscribing is ours, so that "subscribed" means every channel is back.
      autoResubscribe: false,
      enableAutoPipelining: false,
      connectionName: this.options.connectionName ?? 'stratum-invalidations',
    });
    this.subscriber = subscriber;
    subscriber.on('error', () => {});
    subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
    subscriber.on('ready', () => void this.subscribe());
    subscriber.on('close', () => this.lost());
    this.heartbeat = setInterval(() => this.ping(), this.options.heartbeatMs);
    this.heartbeat.unref();
    subscriber.connect().catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    // A deliberate stop: nothing to warn about, and nothing will read a copy any more.
    this.epoch++;
    this.up = false;
    subscriber?.disconnect();
  }

  private async subscribe(): Promise<void> {
    const subscriber = this.subscriber;
    const channels = [...this.handlers.keys()];
    if (!subscriber || channels.length === 0) return;
    const epoch = ++this.epoch;
    const sentAt = Date.now();
    try {
      await subscriber.subscribe(...channels);
    } catch {
      return; // The connection went; its 'close' and next 'ready' take over.
    }
    if (epoch !== this.epoch || this.subscriber !== subscriber) return;
    this.confirmed = sentAt;
    if (!this.up) {
      this.up = true;
      for (const listener of this.listeners) listener(true);
    }
  }

  private lost(): void {
    this.epoch++;
    if (!this.up) return;
    this.up = false;
    for (const listener of this.listeners) listener(false);
  }

  private ping(): void {
    const subscriber = this.subscriber;
    if (!this.up || !subscriber) return;
    const epoch = this.epoch;
    const sentAt = Date.now();
    subscriber.ping().then(
      () => {
        if (epoch === this.epoch) this.confirmed = Math.max(this.confirmed, sentAt);
      },
      () => {},
    );
  }
}
