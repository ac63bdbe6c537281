"""Calling a source's provider with the source's credentials: unsealed for the call, and
what the provider refreshed sealed back onto the source, whether the call worked or not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from calsync import providers
from calsync.config import Settings
from calsync.models import Source
from calsync.providers.base import BaseProvider, SourceRef
from calsync.services.sources import source_ref, store_credentials


@contextmanager
def provider_for(settings: Settings, source: Source) -> Iterator[tuple[BaseProvider, SourceRef]]:
    """The source's provider and what it is told, for calls inside the block.

    Part of the caller's unit of work: the refreshed tokens are set on `source`, and the
    caller's commit keeps them. They are kept even when the call fails: a provider may
    refresh the tokens and then fail, and the fresh ones spare the next call a refresh.
    """
    provider = providers.load(source.kind)(settings)
    ref = source_ref(settings, source)
    before = dict(ref.credentials) if ref.credentials is not None else None
    try:
        yield provider, ref
    finally:
        store_credentials(settings, source, ref, before)
