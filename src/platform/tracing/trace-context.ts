import { context, propagation, ROOT_CONTEXT, trace, type Link } from '@opentelemetry/api';

/**
 * The span in effect, as a W3C traceparent, so work started later elsewhere (an outbox job)
 * can point back at it. Undefined when tracing is off: the API's propagator then injects nothing.
 */
export function activeTraceparent(): string | undefined {
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/** A link to the span a traceparent names; none for a missing or malformed one. */
export function linksTo(traceparent: string | null | undefined): Link[] {
  if (!traceparent) return [];
  const spanContext = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
  return spanContext ? [{ context: spanContext }] : [];
}
