import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface SdkSettings {
  /** The OTLP base URL; traces go to its /v1/traces. */
  endpoint: string;
  serviceName: string;
  batchDelayMs: number;
}

/** Probes and scrapes arrive every few seconds; as traces they would bury the requests. */
function isProbe(url = ''): boolean {
  return url.startsWith('/health/') || url === '/metrics';
}

function tracesUrl(endpoint: string): string {
  return new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}

/**
 * Registers the tracer provider (with the W3C trace-context propagator and async context) and
 * the http, pg and ioredis instrumentations. Spans leave in batches over OTLP/HTTP (JSON).
 */
export function startSdk(settings: SdkSettings): { shutdown(): Promise<void> } {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(settings.endpoint) }), {
        scheduledDelayMillis: settings.batchDelayMs,
      }),
    ],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => isProbe(request.url),
        requireParentforOutgoingSpans: true,
      }),
      // Only inside a request or a job: the outbox poll's queries alone would flood the backend.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  // The hooks see `require` only. An ESM `import 'ioredis'` loads its entry file without one,
  // so it would stay unpatched; requiring it here patches the prototypes every import shares.
  // (pg is patched either way, through the files its entry requires, but loads here too.)
  const require = createRequire(import.meta.url);
  require('ioredis');
  require('pg');
  return { shutdown: () => provider.shutdown() };
}
