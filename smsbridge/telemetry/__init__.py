"""Observability hooks: OpenTelemetry spans and metrics (extra ``otel``).

The engine holds an optional :class:`Telemetry`; ``None`` (the default when OpenTelemetry is not
installed or no tracer/meter provider is configured) costs one ``is None`` test per request.
"""

from __future__ import annotations

from .otel import Telemetry, detect_telemetry

__all__ = ["Telemetry", "detect_telemetry"]
