"""With ``COMMERCE_OTEL__ENDPOINT`` set, a ``commerce`` process really exports its spans.

A small OTLP/gRPC trace receiver runs in the test on 127.0.0.1 (``grpcio`` and the
``opentelemetry-proto`` messages the exporter itself uses); ``commerce run all`` points
at it, handles one ``RegisterUser`` and relays its event to the user directory. The
spans arrive, decoded from the wire, under the service's name and as one trace:
consume → handle → db commit → outbox write → publish → consume the event → project it.
"""

import asyncio
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from commerce.identity.messages.channels import USERS
from tests.support.database import ProvisionedDatabase
from tests.support.observed import commerce, environment, get_until, publish_register_user
from tests.support.tansu import free_port
from tests.support.worker import settings_for

pytestmark = pytest.mark.e2e


@dataclass
class TraceReceiver(trace_service_pb2_grpc.TraceServiceServicer):
    """The trace half of an OTLP collector: keeps every span it is sent."""

    services: set[str] = field(default_factory=set)
    _spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def Export(  # the gRPC method's name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: Any
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        """Accept one batch (the exporter's ``Export`` call)."""
        with self._lock:
            for resource_spans in request.resource_spans:
                self.services |= {
                    attribute.value.string_value
                    for attribute in resource_spans.resource.attributes
                    if attribute.key == "service.name"
                }
                for scope_spans in resource_spans.scope_spans:
                    self._spans.extend(scope_spans.spans)
        return trace_service_pb2.ExportTraceServiceResponse()

    def spans(self) -> list[Span]:
        """Every span received so far."""
        with self._lock:
            return list(self._spans)


@pytest.fixture
def receiver() -> Iterator[tuple[TraceReceiver, str]]:
    """A running receiver and its endpoint, ``http://127.0.0.1:<port>``."""
    received = TraceReceiver()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        received, server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield received, f"http://127.0.0.1:{port}"
    finally:
        server.stop(grace=None)


def _children(spans: list[Span], parent: Span) -> list[Span]:
    return [span for span in spans if span.parent_span_id == parent.span_id]


def _chain(spans: list[Span]) -> list[Span] | None:
    """From the command's consumer span down to the projection's ``handle``, if complete."""
    handles = [span for span in spans if span.name == "handle RegisterUser"]
    if len(handles) != 1:
        return None
    [handle] = handles
    consumed = [span for span in spans if span.span_id == handle.parent_span_id]
    chain = [*consumed, handle]
    for _ in range(5):  # db commit, outbox write, publish, consume the event, project it
        below = _children(spans, chain[-1])
        if not below:
            return None
        chain.append(below[0])
    return chain if consumed else None


async def test_the_spans_of_a_handled_command_arrive_at_the_otlp_endpoint(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    receiver: tuple[TraceReceiver, str],
    tmp_path: Path,
) -> None:
    received, endpoint = receiver
    settings = settings_for(provisioned_database, rabbit_url)
    settings.http.port = free_port()
    settings.otel.endpoint = endpoint
    url = f"http://127.0.0.1:{settings.http.port}"
    env = environment(settings, OTEL_BSP_SCHEDULE_DELAY="200")  # export batches every 0.2 s
    async with commerce(["run", "all"], env, tmp_path) as worker:
        await get_until(f"{url}/ready", worker, until=lambda body: '"ready"' in body, timeout=60)
        publish_register_user(worker.env)
        deadline = asyncio.get_running_loop().time() + 60
        while (chain := _chain(received.spans())) is None:
            assert asyncio.get_running_loop().time() < deadline, (
                f"no complete trace arrived; span names: {[s.name for s in received.spans()]}"
            )
            await asyncio.sleep(0.2)
    assert received.services == {settings.service_name}
    consume, handle, commit, outbox_write, publish, consume_event, project = chain
    assert [handle.name, commit.name, outbox_write.name, publish.name, project.name] == [
        "handle RegisterUser",
        "db commit",
        "outbox write",
        f"publish {USERS.name}",
        "handle UserRegisteredV1",
    ]
    assert consume.kind == consume_event.kind == Span.SpanKind.SPAN_KIND_CONSUMER
    assert publish.kind == Span.SpanKind.SPAN_KIND_PRODUCER
    assert len({span.trace_id for span in chain}) == 1, "one trace across the outbox hop"
