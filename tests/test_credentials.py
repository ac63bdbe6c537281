"""A source's provider is called with the source's tokens unsealed, and tokens the provider
refreshed are sealed back onto the source, even when the call fails."""

from __future__ import annotations

import pytest

from calsync import crypto
from calsync.config import Settings
from calsync.errors import SourceError
from calsync.models import Source
from calsync.services.credentials import provider_for
from tests.plugins.memory import MemoryProvider

MEMORY = "tests.plugins.memory:MemoryProvider"


def source_with(settings: Settings, tokens: dict[str, str] | None) -> Source:
    sealed = crypto.seal(settings, tokens) if tokens is not None else None
    return Source(id=7, kind=MEMORY, url="", options={}, credentials=sealed)


def test_the_provider_is_told_the_unsealed_tokens(settings: Settings) -> None:
    source = source_with(settings, {"token": "old"})
    with provider_for(settings, source) as (provider, ref):
        assert isinstance(provider, MemoryProvider)
        assert (ref.id, ref.credentials) == (7, {"token": "old"})


def test_refreshed_tokens_are_sealed_onto_the_source_even_when_the_call_fails(
        settings: Settings) -> None:
    source = source_with(settings, {"token": "old"})
    with pytest.raises(SourceError), provider_for(settings, source) as (_provider, ref):
        assert ref.credentials is not None
        ref.credentials["token"] = "new"  # as a provider refreshes: in place
        raise SourceError("Google is busy.", transient=True)
    assert source.credentials is not None
    assert crypto.unseal(settings, source.credentials) == {"token": "new"}


def test_unchanged_tokens_are_not_sealed_again(settings: Settings) -> None:
    source = source_with(settings, {"token": "old"})
    sealed = source.credentials
    with provider_for(settings, source):
        pass
    assert source.credentials == sealed


def test_a_source_without_tokens_stays_without(settings: Settings) -> None:
    source = source_with(settings, None)
    with provider_for(settings, source) as (_provider, ref):
        assert ref.credentials is None
    assert source.credentials is None
