"""Optional tracing: OpenTelemetry spans to an OTLP/HTTP endpoint, off unless configured.

``tracing_start(role)`` is called once per process before the first request or task: by
``config/wsgi.py`` for a web process, by the CLI for the worker and the embedded server's task
consumer. With ``OTEL_EXPORTER_OTLP_ENDPOINT`` unset it does nothing and imports nothing (no
cost, no extra memory). Set, it installs a tracer provider that batches spans to
``{endpoint}/v1/traces`` (protobuf over HTTP) and instruments Django (one server span per
request, named by its route), psycopg (one span per query), redis (one per command) and httpx
(every outbound call, with the trace context propagated). The SDK's own variables
(``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``,
``OTEL_BSP_SCHEDULE_DELAY``...) apply as documented by OpenTelemetry.

The packages come with the ``otel`` extra (``pip install 'pawfile[otel]'``); a configured
endpoint without them is a configuration error, not a silent no-op.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_started = False


def tracing_endpoint() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()


def tracing_start(role: str) -> bool:
    """Start tracing for this process (``role``: web, worker, serve); True when it is on.

    Idempotent. Must run before Django loads its middleware (the Django instrumentor adds
    one) and before the first database connection."""
    global _started
    if _started or not tracing_endpoint():
        return _started
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise ImproperlyConfigured(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry packages are missing: "
            "install them with pip install 'pawfile[otel]' (or unset the variable)"
        ) from exc

    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", "pawfile"),
            "service.namespace": "pawfile",
            "pawfile.role": role,
        }
    )
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    _started = True
    return True


def tracing_flush() -> None:
    """Send the spans still batched (at a clean stop)."""
    if not _started:
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(2000)
