"""The tracer provider: W3C trace context in, OTLP out when an endpoint is configured.

Service name, resource attributes and sampling come from the standard variables
(OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER[_ARG]), which the SDK
reads itself; the exporter (OTEL_EXPORTER_OTLP_* variables) only when
OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set. Without one,
nothing would ever read a span, so none is recorded (the sampler is off): spans still get
ids, which log lines and the trace context passed on carry, but no attributes, events or
timings are collected (~0.5 ms of CPU a turn, measured by `python -m bench --only cpu`).
"""

from __future__ import annotations

import logging

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "chat-service"


def build_tracer_provider(
    *, service_name: str, otlp_endpoint: str, disabled: bool = False
) -> TracerProvider:
    """Returns a provider for `service_name` exporting to `otlp_endpoint`; with a blank
    endpoint, or `disabled` (OTEL_SDK_DISABLED), one that records nothing."""
    resource = Resource.create({"service.name": service_name or DEFAULT_SERVICE_NAME})
    endpoint = otlp_endpoint.strip()
    if disabled or not endpoint:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF, shutdown_on_exit=False)
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    # Imported here: the exporter (and its HTTP client) loads only when it is used.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    logger.info("exporting traces over OTLP/HTTP", extra={"endpoint": endpoint})
    return provider


def records_spans(provider: TracerProvider) -> bool:
    """False for a provider that records no span (sampler off): instrumenting the storage
    clients for it would cost CPU on every command for spans nobody sees."""
    return provider.sampler is not ALWAYS_OFF
