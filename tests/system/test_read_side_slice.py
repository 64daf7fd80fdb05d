"""The read side end to end, as operators run it: ``commerce run all`` answers queries
(``commerce query``), and ``commerce projections rebuild`` in another process drops the
worker's cached answers through Redis, on RabbitMQ and on Kafka."""

import asyncio
import os
import subprocess
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.operators import query_client
from commerce.identity.messages.queries import GetUserV1, UserDetailsV1
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import users
from commerce.platform.read_side.query_client import QueryClient
from tests.support.database import ProvisionedDatabase
from tests.support.processes import COMMERCE, ServiceProcesses
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e


async def _name(client: QueryClient, user: UUID, tenant: UUID) -> str | None:
    try:
        reply = await client.ask(GetUserV1(user_id=user), tenant_id=tenant, within=3)
    except TimeoutError:
        return None
    assert isinstance(reply, UserDetailsV1)
    return reply.user.display_name if reply.user else None


async def _until_named(
    client: QueryClient, user: UUID, tenant: UUID, name: str, within: float
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (found := await _name(client, user, tenant)) != name:
        assert asyncio.get_running_loop().time() < deadline, f"still {found!r}, not {name!r}"
        await asyncio.sleep(0.2)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMERCE, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def test_queries_answer_and_a_rebuild_in_another_process_invalidates_the_worker_cache(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    redis_url: str,
    app_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    settings.redis.url = SecretStr(redis_url)
    settings.http.port = free_port()
    settings.cache.l1_ttl_seconds = 600  # only an invalidation can refresh an answer
    env = environment_for(settings)
    tenant, user = uuid4(), uuid4()
    with ServiceProcesses(env, tmp_path) as processes:
        processes.start("worker", "all")
        url = f"http://127.0.0.1:{settings.http.port}"
        await processes.ready("worker", url, timeout=60)
        payload = (
            f'{{"user_id": "{user}", "email": "ada@example.com", "display_name": "Ada", '
            '"password": "correct horse battery staple"}'
        )
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")} | env
        published = await asyncio.to_thread(
            _run, child_env, "publish", "RegisterUser", "--tenant", str(tenant), "--json", payload
        )
        assert published.returncode == 0, published.stderr
        async with query_client(settings) as client:
            await _until_named(client, user, tenant, "Ada", within=60)
            asked = await asyncio.to_thread(
                _run,
                child_env,
                "query",
                "GetUser",
                "--tenant",
                str(tenant),
                "--json",
                f'{{"user_id": "{user}"}}',
            )
            assert asked.returncode == 0, asked.stderr
            assert UserDetailsV1.model_validate_json(asked.stdout).user is not None

            async with tenant_transaction(app_engine, tenant) as connection:  # behind the cache
                await connection.execute(
                    update(users).values(display_name="Ada King", version=users.c.version + 1)
                )
            assert await _name(client, user, tenant) == "Ada", "cached (L1 TTL is 10 min)"
            rebuilt = await asyncio.to_thread(
                _run, child_env, "projections", "rebuild", "user-directory"
            )
            assert rebuilt.returncode == 0, rebuilt.stderr
            assert "swapped in" in rebuilt.stdout
            await _until_named(client, user, tenant, "Ada King", within=5)

        async with httpx.AsyncClient(timeout=5) as http:
            metrics = (await http.get(f"{url}/metrics")).text
        assert 'commerce_cache_requests_total{cache="queries.l1",result="hit"}' in metrics
        assert 'commerce_cache_invalidations_total{cache="queries",origin="remote"}' in metrics
        assert "commerce_queries_total{" in metrics
