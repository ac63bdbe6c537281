"""A source's provider tokens: sealed at rest, unsealed only for a call, and what the
provider refreshed sealed back onto the source, whether the call worked or not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from calsync import crypto, providers
from calsync.config import Settings
from calsync.models import Source
from calsync.providers.base import BaseProvider, SourceRef


def unseal_tokens(settings: Settings, source: Source) -> dict[str, Any] | None:
    """The source's tokens in the clear; None when it holds none."""
    return crypto.unseal(settings, source.credentials) if source.credentials else None


def seal_tokens(settings: Settings, source: Source, tokens: dict[str, Any]) -> None:
    """Keep `tokens` on the source, sealed. Part of the caller's unit of work."""
    source.credentials = crypto.seal(settings, tokens)


def source_ref(settings: Settings, source: Source) -> SourceRef:
    """What the provider is told: the source's address or file, options and unsealed tokens."""
    return SourceRef(id=source.id, url=source.url, data=source.upload,
                     options=dict(source.options or {}),
                     credentials=unseal_tokens(settings, source))


def store_credentials(settings: Settings, source: Source, ref: SourceRef,
                      before: dict[str, Any] | None) -> None:
    """A provider refreshed the tokens in place: seal and keep the new ones. Part of the
    caller's unit of work."""
    if ref.credentials is not None and ref.credentials != before:
        seal_tokens(settings, source, ref.credentials)


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
