"""Scenario ``latency``: the real worker and relay at a fixed offered load.

With worker, relay and a probe consumer of the event stream running, commands are sent
at ``per_second`` for ``warmup + seconds`` (open loop, see
:func:`scripts.bench.messages.publish_paced`); the first ``warmup`` seconds are not
measured. For each measured command, on this machine's one clock (Postgres runs here):

* command→commit: the outbox row's ``created_at`` (``now()`` of the worker's transaction,
  i.e. its start: commit minus the transaction's own few milliseconds) minus the
  command's CloudEvents ``time``;
* commit→published: the probe's receipt of the event minus ``created_at`` (an upper bound
  of the relay's publish: it adds the broker's delivery to the probe);
* commit→relay claim: the outbox row's ``sent_at`` (``now()`` of the relay's
  transaction, taken before it publishes) minus ``created_at``;
* command→event: the probe's receipt minus the command's ``time``.

Also reported: the throughput achieved over the measured commands and how many events
did not arrive within the wait after the last send (they count as infinitely late).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from scripts.bench.messages import Command, publish_paced
from scripts.bench.probe import EventProbe, start_probe
from scripts.bench.service import ServiceUnderTest, service_under_test
from scripts.bench.stats import percentile, rate

__all__ = ["latency_figures", "run_latency"]

type Progress = Callable[[int], None]
_ROWS = """
SELECT headers->>'ce-causationid' AS cause,
       extract(epoch FROM created_at)::float8 AS committed,
       extract(epoch FROM sent_at)::float8 AS claimed
FROM outbox
"""


async def _wait_arrivals(probe: EventProbe, wanted: set[str], *, cap: float) -> None:
    """Until every wanted event arrived, or ``cap`` seconds passed."""
    deadline = time.monotonic() + cap
    while not wanted <= probe.arrivals.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def latency_figures(
    commands: list[Command],
    rows: dict[str, tuple[float, float | None]],
    arrivals: dict[str, float],
) -> list[tuple[str, str, float]]:
    """Percentiles (ms) over ``commands``; ``rows``: command id → (committed, claimed).

    A step that did not happen within the wait counts as infinitely late, so a p99 is
    infinite when more than 1 % of the commands never got that far.
    """
    inf = math.inf
    to_commit, to_claim, to_publish, to_event = [], [], [], []
    for command in commands:
        committed, claimed = rows.get(command.id, (None, None))
        arrived = arrivals.get(command.id)
        to_commit.append(inf if committed is None else committed - command.time)
        to_event.append(inf if arrived is None else arrived - command.time)
        if committed is not None:
            to_claim.append(inf if claimed is None else claimed - committed)
            to_publish.append(inf if arrived is None else arrived - committed)
    figures: list[tuple[str, str, float]] = []
    for label, values in (
        ("command→commit", to_commit),
        ("commit→published", to_publish),
        ("command→event", to_event),
    ):
        for share in (0.5, 0.95, 0.99):
            figures.append(
                (f"{label} p{round(share * 100)}", "ms", 1000 * percentile(values, share))
            )
    figures.append(("commit→relay claim p99", "ms", 1000 * percentile(to_claim, 0.99)))
    measured = [arrivals[c.id] for c in commands if c.id in arrivals]
    if measured:
        figures.append(("achieved", "cmd/s", rate(len(measured), commands[0].time, max(measured))))
    figures.append(("events missing", "count", float(sum(value == inf for value in to_event))))
    return figures


async def _outbox_rows(service: ServiceUnderTest) -> dict[str, tuple[float, float | None]]:
    records = await (await service.db()).fetch(_ROWS)
    return {r["cause"]: (r["committed"], r["claimed"]) for r in records}


async def run_latency(
    transport: str,
    *,
    admin_url: str,
    broker_address: str,
    tansu: bool,
    log_dir: Path,
    per_second: float,
    seconds: float,
    warmup: float,
    progress: Progress,
    wait: float = 10.0,
    log_level: str = "INFO",
) -> list[tuple[str, str, float]]:
    """One latency run (events awaited ``wait`` seconds after the last send)."""
    async with service_under_test(
        transport,
        admin_url=admin_url,
        broker_address=broker_address,
        tansu=tansu,
        log_dir=log_dir,
        log_level=log_level,
    ) as service:
        await service.start("relay")
        await service.start("worker")
        probe = await start_probe(transport, broker_address, service.namespace)
        publisher = await service.publisher()
        try:
            total = round(per_second * (warmup + seconds))
            commands = await publish_paced(
                publisher, uuid4(), per_second=per_second, total=total, progress=progress
            )
            measured = commands[round(per_second * warmup) :]
            await _wait_arrivals(probe, {c.id for c in measured}, cap=wait)
            service.check_alive()
            rows = await _outbox_rows(service)
        finally:
            await publisher.close()
            await probe.close()
    return latency_figures(measured, rows, probe.arrivals)
