"""``make kafka`` (``scripts/kafka.py``): a local broker whose records survive stop and start.

Runs the script as ``make kafka`` / ``make kafka-stop`` do, on a free port and with its
state (pid files, logs, the S3 data) in a temporary directory: never the developer's
``.local/tansu`` nor port 9092.
"""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from scripts.kafka import Local, answers

from tests.support.paths import REPOSITORY
from tests.support.tansu import ensure_topics, free_port

__all__: list[str] = []

pytestmark = pytest.mark.integration

WAIT = 20.0


def kafka(action: str, state: Path, *options: str) -> str:
    """Run ``python -m scripts.kafka <action> --state-dir <state>``; its output, or fail."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.kafka", action, "--state-dir", str(state), *options],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{action} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    """The script's state directory; whatever it started there is stopped afterwards."""
    directory = tmp_path / "tansu"
    try:
        yield directory
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [sys.executable, "-m", "scripts.kafka", "stop", "--state-dir", str(directory)],
                cwd=REPOSITORY,
                capture_output=True,
                timeout=60,
                check=False,
            )
        local = Local.at(directory)
        for process in (local.tansu, local.s3):  # in case stop itself failed
            if (pid := process.pid) is not None:
                os.kill(pid, signal.SIGKILL)


async def test_a_second_start_is_a_no_op_and_records_survive_stop_and_start(
    state: Path, tmp_path: Path
) -> None:
    port = free_port()
    url, bootstrap = f"kafka://127.0.0.1:{port}", f"127.0.0.1:{port}"
    local = Local.at(state)

    assert "Tansu is up" in await asyncio.to_thread(kafka, "start", state, "--url", url)
    pids = local.tansu.pid, local.s3.pid
    assert None not in pids
    again = await asyncio.to_thread(kafka, "start", state, "--url", url)
    assert f"Tansu is running on {bootstrap} (pid {pids[0]}" in again
    assert (local.tansu.pid, local.s3.pid) == pids
    elsewhere = await asyncio.to_thread(kafka, "start", tmp_path / "other", "--url", url)
    assert "a broker already answers" in elsewhere
    assert not list((tmp_path / "other").glob("*.pid"))

    topic = f"kafka-script-{uuid4().hex[:12]}"
    await ensure_topics(bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await producer.send_and_wait(
            topic, b"kept", key=b"order-1", headers=[("ce-id", b"id-1")]
        )
    finally:
        await producer.stop()

    stopped = await asyncio.to_thread(kafka, "stop", state)
    assert f"stopped tansu (pid {pids[0]})" in stopped
    assert f"stopped s3 (pid {pids[1]})" in stopped
    assert not answers(port)
    assert (local.tansu.pid, local.s3.pid) == (None, None)
    assert list((state / "s3" / "objects").iterdir()), "no S3 object in the state directory"
    assert "tansu: stopped\ns3: stopped" in await asyncio.to_thread(kafka, "status", state)

    assert "Tansu is up" in await asyncio.to_thread(kafka, "start", state, "--url", url)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning()
        record = await asyncio.wait_for(consumer.getone(), WAIT)
        assert await consumer.getmany(timeout_ms=500) == {}
    finally:
        await consumer.stop()
    assert (record.offset, record.key, record.value) == (sent.offset, b"order-1", b"kept")
    assert [(name, bytes(value)) for name, value in record.headers] == [("ce-id", b"id-1")]

    await asyncio.to_thread(kafka, "stop", state)
    assert not answers(port)
