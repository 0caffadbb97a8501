import type { Config } from './config.js';

export interface Tracing {
  /** Exports the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

const off: Tracing = { shutdown: async () => {} };

/**
 * Starts OpenTelemetry when OTEL_EXPORTER_OTLP_ENDPOINT is set. Call it before importing
 * app.js: the instrumentations patch http, pg and ioredis as they load. When unset the SDK is
 * not even imported, so @opentelemetry/api keeps its no-op tracer and costs nothing.
 */
export async function startTracing(config: Config, defaultServiceName: string): Promise<Tracing> {
  if (!config.otelEndpoint) return off;
  const { startSdk } = await import('./platform/tracing/setup.js');
  return startSdk({
    endpoint: config.otelEndpoint,
    serviceName: config.otelServiceName ?? defaultServiceName,
    batchDelayMs: config.otelBatchDelayMs,
  });
}
