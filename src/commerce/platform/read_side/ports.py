"""The read side: the cache query answers go through, the tags that tie cached answers to
read-model rows, and the read-only sessions they read in. Each context declares its own
read models (rows, readers, tags) in its application package.

A projection that changes a row invalidates the row's tags once its transaction has
committed; an answer built from rows carries their tags, so it is dropped with them (see
``docs/adr/0013-projections-and-read-side.md``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from commerce.platform.kit.ids import TenantId

__all__ = ["QueryCache", "ReadModelTags", "ReadSessionFactory"]


@dataclass(frozen=True, slots=True)
class ReadModelTags:
    """Cache tags of one read model: the whole model, a tenant's rows, one row, a group."""

    model: str

    def everything(self) -> str:
        """Every row of every tenant (a rebuild swapped the table)."""
        return self.model

    def tenant(self, tenant: TenantId) -> str:
        """Every row of ``tenant`` (answers listing or aggregating rows)."""
        return f"{self.model}:{tenant}"

    def row(self, tenant: TenantId, key: UUID) -> str:
        """One row of ``tenant``."""
        return f"{self.model}:{tenant}:{key}"

    def group(self, tenant: TenantId, kind: str, key: UUID) -> str:
        """The rows of ``tenant`` sharing ``kind`` = ``key`` (e.g. a customer's orders)."""
        return f"{self.model}:{tenant}:{kind}:{key}"


class QueryCache(Protocol):
    """A read-through cache of serialised answers (L1 in process, L2 shared)."""

    async def get_or_load(
        self, key: str, tags: Sequence[str], loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The cached answer for ``key``, else ``loader()``'s, cached under ``tags``."""
        ...

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Drop every answer carrying one of ``tags``, in every worker."""
        ...


class ReadSessionFactory[M](Protocol):
    """Opens a read-only session on the read models (``M``) of ``tenant`` (row-level
    security)."""

    def __call__(self, tenant: TenantId) -> AbstractAsyncContextManager[M]: ...
