"""A user's cadence (the bundled or configured file, with the user's changes on top) and
the rules that decide which of the user's meetings get a prompt."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from functools import cache
from importlib.resources import files

from calsync.config import Settings
from calsync.domain.cadence import Cadence
from calsync.domain.prompting import DEFAULT_SKIP_KEYWORDS, PromptRules
from calsync.models import User

# config/cadence.toml, shipped in the package as calsync/defaults (a link in a checkout).
BUNDLED_CADENCE = files("calsync") / "defaults" / "cadence.toml"


def skip_keywords(user: User) -> tuple[str, ...]:
    """The titles that get no prompt: the user's own list, else the defaults."""
    return DEFAULT_SKIP_KEYWORDS if user.skip_keywords is None else tuple(user.skip_keywords)


def rules_for(user: User, settings: Settings) -> PromptRules:
    """The user's prompting rules: who is internal, which titles are skipped, and when."""
    keywords = skip_keywords(user)
    return PromptRules(
        user_email=user.email,
        internal_domains=frozenset(d.lower() for d in user.internal_domains or ()),
        skip_keywords=keywords,
        grace=timedelta(minutes=settings.prompt_grace_minutes),
        lookback=timedelta(days=settings.prompt_lookback_days),
    )


@cache
def _cadence_file(path: str) -> Cadence:
    with open(path, "rb") as handle:
        return Cadence.from_mapping(tomllib.load(handle))


def base_cadence(settings: Settings) -> Cadence:
    """The cadence every user starts from: CALSYNC_CADENCE_PATH or config/cadence.toml."""
    return _cadence_file(settings.cadence_path or str(BUNDLED_CADENCE))


def cadence_for(user: User, settings: Settings) -> Cadence:
    """The configured cadence with the user's own changes layered on top."""
    base = base_cadence(settings)
    return Cadence.from_mapping(user.cadence, base=base) if user.cadence else base
