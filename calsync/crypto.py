"""Encrypts provider tokens at rest with MultiFernet: the first key encrypts, every key decrypts.

Keys come from CALSYNC_ENCRYPTION_KEYS, or one generated once into the instance folder.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from calsync.config import Settings
from calsync.errors import ConfigError


def load_keys(settings: Settings) -> tuple[str, ...]:
    if settings.encryption_keys:
        return tuple(k.strip() for k in settings.encryption_keys.split(",") if k.strip())
    return _generated_keys(settings.instance_path / "encryption_keys")


@cache
def _generated_keys(path: Path) -> tuple[str, ...]:
    """The local key file, made on first use; read once per process, not per token."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return tuple(k.strip() for k in path.read_text().split(",") if k.strip())


@cache
def _box(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ConfigError("CALSYNC_ENCRYPTION_KEYS",
                          "each key must be a Fernet key (32 url-safe base64 bytes); make one "
                          "with `python -c 'from cryptography.fernet import Fernet; "
                          "print(Fernet.generate_key().decode())'`") from exc


def seal(settings: Settings, secret: dict[str, Any]) -> str:
    """The secret as ciphertext safe to store; never log either side."""
    return _box(load_keys(settings)).encrypt(json.dumps(secret).encode()).decode()


def unseal(settings: Settings, sealed: str) -> dict[str, Any]:
    """The secret back; a key that was removed makes it unreadable (ConfigError)."""
    try:
        secret: dict[str, Any] = json.loads(_box(load_keys(settings)).decrypt(sealed.encode()))
    except InvalidToken as exc:
        raise ConfigError("CALSYNC_ENCRYPTION_KEYS",
                          "no key decrypts a stored token; add back the key it was sealed "
                          "with (keys rotate by putting the new key first)") from exc
    return secret


def rotate(settings: Settings, sealed: str) -> str:
    """Re-encrypt with the first key, so an old key can be retired."""
    return _box(load_keys(settings)).rotate(sealed.encode()).decode()
