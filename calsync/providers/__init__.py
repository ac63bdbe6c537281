"""Calendar providers, chosen by name: see `calsync.providers.base.BaseProvider` for the contract.

`load(name)` accepts a built-in name, an entry point of the group `calsync.providers`
(how a third party adds one), or a dotted path `package.module:Class`.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from calsync.errors import PluginError
from calsync.providers.base import BaseProvider

ENTRY_POINT_GROUP = "calsync.providers"
BUILTIN = {
    "ics": "calsync.providers.ics:IcsProvider",
    "google": "calsync.providers.google:GoogleProvider",
    "caldav": "calsync.providers.caldav:CaldavProvider",
    "microsoft": "calsync.providers.microsoft:MicrosoftProvider",
}


def available() -> list[str]:
    """Every provider name `load` knows without a dotted path."""
    return sorted(set(BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


@cache
def load(name: str) -> type[BaseProvider]:
    """The provider class for `name`; raises PluginError naming the valid choices."""
    target = BUILTIN.get(name)
    if target is None:
        found = entry_points(group=ENTRY_POINT_GROUP, name=name)
        target = next(iter(found)).value if found else name
    if ":" not in target:
        raise PluginError(name, available())
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module_name.startswith(exc.name):
            raise  # the plugin exists but is broken: that deserves its own traceback
        raise PluginError(name, available()) from exc
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
        raise PluginError(name, available())
    return cls
