"""Scenario ``soak`` (``--soak``): the pipeline at a fixed load for minutes, RSS watched.

Worker and relay run while commands arrive at ``per_second`` for ``minutes``; their RSS
is sampled every 5 s. The first minute is warm-up (pools fill, caches grow); the
baseline is the median RSS of the minute after it, the end the median of the last
minute, and the drift their difference in percent (target: within ±10 %).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from scripts.bench.messages import publish_paced
from scripts.bench.pipeline import wait_for
from scripts.bench.processes import Sampler
from scripts.bench.service import service_under_test

from commerce.identity.messages.channels import REGISTER_USER

__all__ = ["rss_drift", "run_soak"]

type Progress = Callable[[int], None]
WARMUP_SECONDS = 60.0
WINDOW_SECONDS = 60.0


def rss_drift(samples: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(baseline MiB, end MiB, max MiB, drift %) from ``(seconds since start, MiB)``."""
    end_time = samples[-1][0]
    base = [mib for at, mib in samples if WARMUP_SECONDS <= at < WARMUP_SECONDS + WINDOW_SECONDS]
    last = [mib for at, mib in samples if at >= end_time - WINDOW_SECONDS]
    baseline = statistics.median(base or [samples[0][1]])
    end = statistics.median(last)
    return baseline, end, max(mib for _, mib in samples), 100 * (end - baseline) / baseline


async def run_soak(
    transport: str,
    *,
    admin_url: str,
    broker_address: str,
    tansu: bool,
    log_dir: Path,
    per_second: float,
    minutes: float,
    progress: Progress,
    log_level: str = "INFO",
) -> list[tuple[str, str, float]]:
    """One soak run; returns RSS figures of worker and relay and the throughput kept."""
    total = round(per_second * minutes * 60)
    async with service_under_test(
        transport,
        admin_url=admin_url,
        broker_address=broker_address,
        tansu=tansu,
        log_dir=log_dir,
        log_level=log_level,
    ) as service:
        relay = await service.start("relay")
        worker = await service.start("worker")
        sampler = Sampler({"worker": worker.pid, "relay": relay.pid}, interval=5.0)
        sampler.start()
        publisher = await service.publisher()
        try:
            await publish_paced(
                publisher, uuid4(), per_second=per_second, total=total, progress=progress
            )
            await wait_for(
                service,
                lambda applied, sent, _: applied >= total and sent >= total,
                limit=120,
                what="the soak's backlog",
            )
        finally:
            await publisher.close()
            await sampler.stop()
        applied = await service.window(
            "inbox", "received_at", f"consumer = '{REGISTER_USER.consumer}'"
        )
    figures: list[tuple[str, str, float]] = []
    start = sampler.samples[0].at
    for name in ("worker", "relay"):
        series = [(s.at - start, s.rss[name]) for s in sampler.samples]
        baseline, end, peak, drift = rss_drift(series)
        figures += [
            (f"{name} RSS after warm-up", "MiB", baseline),
            (f"{name} RSS at end", "MiB", end),
            (f"{name} RSS max", "MiB", peak),
            (f"{name} RSS drift", "%", drift),
        ]
    figures.append(("commands", "cmd/s", applied.count / (applied.last - applied.first)))
    return figures
