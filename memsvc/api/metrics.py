"""Prometheus metrics of one app: request latency by route, index sizes, queue depth, LLM usage.

Each app owns its :class:`Metrics` and its own ``CollectorRegistry`` (no process-global
registry), so two apps in one process (tests) never collide. Per-namespace gauges are read from
``MemoryService.stats`` at scrape time for the namespaces this app has served.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memsvc.errors import MemsvcError

if TYPE_CHECKING:
    from memsvc.service.facade import MemoryService

__all__ = ["Metrics", "RequestTimingMiddleware"]

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_MAX_NAMESPACES = 1_000


class _ServiceCollector(Collector):
    """Reads index sizes, queue depth and LLM usage from the service when scraped."""

    def __init__(
        self, service: Callable[[], MemoryService | None], namespaces: Callable[[], list[str]]
    ) -> None:
        self._service = service
        self._namespaces = namespaces

    def collect(self) -> Iterator[Metric]:
        service = self._service()
        if service is None:
            return
        memories = GaugeMetricFamily(
            "memsvc_memories", "Stored memories by kind.", labels=["namespace", "kind"]
        )
        index = GaugeMetricFamily(
            "memsvc_index_size", "Entries in the derived indexes.", labels=["namespace", "index"]
        )
        jobs = GaugeMetricFamily(
            "memsvc_jobs",
            "Consolidation jobs by status (queue depth).",
            labels=["namespace", "status"],
        )
        lag = GaugeMetricFamily(
            "memsvc_queue_lag_seconds", "Age of the oldest pending job.", labels=["namespace"]
        )
        stats: dict[str, object] = {}
        for ns in self._namespaces():
            try:
                stats = service.stats(namespace=ns)
            except MemsvcError as exc:
                logger.warning("metrics: stats of a namespace failed: %s", exc.code)
                continue
            for kind, count in _items(stats.get("memories")):
                memories.add_metric([ns, kind], count)
            for name in ("dense", "sparse"):
                index.add_metric([ns, name], dict(_items(stats.get("index"))).get(name, 0.0))
            for status, count in _items(stats.get("jobs")):
                jobs.add_metric([ns, status], count)
            lag.add_metric([ns], float(stats.get("queue_lag_s", 0.0) or 0.0))  # type: ignore[arg-type]
        yield from (memories, index, jobs, lag)
        yield from _llm_metrics(dict(_items(stats.get("llm"))))


def _items(value: object) -> list[tuple[str, float]]:
    if not isinstance(value, dict):
        return []
    return [(str(k), float(v)) for k, v in value.items() if isinstance(v, int | float)]


def _llm_metrics(usage: dict[str, float]) -> Iterator[Metric]:
    tokens = CounterMetricFamily("memsvc_llm_tokens", "LLM tokens used.", labels=["direction"])
    tokens.add_metric(["prompt"], usage.get("prompt_tokens", 0.0))
    tokens.add_metric(["completion"], usage.get("completion_tokens", 0.0))
    calls = CounterMetricFamily("memsvc_llm_calls", "LLM calls.", labels=["outcome"])
    calls.add_metric(["total"], usage.get("calls", 0.0))
    calls.add_metric(["failed"], usage.get("failures", 0.0))
    yield tokens
    yield calls


class Metrics:
    """The metrics of one app.

    Args:
        service: returns the app's service (``None`` before the lifespan has built it).
        default_namespace: always reported, even before any request.
    """

    def __init__(self, service: Callable[[], MemoryService | None], default_namespace: str) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            "memsvc_http_request_duration_seconds",
            "HTTP request latency by route template.",
            labelnames=["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._namespaces: dict[str, None] = {default_namespace: None}
        self._lock = threading.Lock()
        self.registry.register(_ServiceCollector(service, self.namespaces))

    def seen(self, namespace: str) -> None:
        """Report ``namespace``'s gauges from now on (bounded)."""
        if namespace in self._namespaces:
            return
        with self._lock:
            if len(self._namespaces) < _MAX_NAMESPACES:
                self._namespaces[namespace] = None

    def namespaces(self) -> list[str]:
        """The namespaces reported."""
        with self._lock:
            return list(self._namespaces)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


class RequestTimingMiddleware:
    """Observe each HTTP request's latency, labelled by route template (not the raw path)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "<unmatched>")
            self.metrics.latency.labels(scope.get("method", "?"), route, str(status)).observe(
                time.perf_counter() - start
            )
