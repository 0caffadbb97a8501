import { trace } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';

/** On request spans and the job spans they cause, so a request id from a log finds both. */
export const ATTR_REQUEST_ID = 'request.id';

/**
 * The http instrumentation sees a bare Node request: this names its span after the Fastify
 * route (low cardinality, unlike the URL) and adds the request id. Registered only when
 * tracing is on.
 */
export function tagRequestSpans(app: FastifyInstance) {
  app.addHook('onRequest', async (request) => {
    const span = trace.getActiveSpan();
    if (!span) return;
    span.setAttribute(ATTR_REQUEST_ID, request.id);
    const route = request.routeOptions.url;
    if (route) {
      span.setAttribute('http.route', route);
      span.updateName(`${request.method} ${route}`);
    }
  });
}
