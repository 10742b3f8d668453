"""Encryption at rest for small secrets stored in the database (webhook signing secrets),
with the same keys as session snapshots: BLAZZ_SNAPSHOT_KEYS, Fernet keys newest first.
MultiFernet encrypts with the first key and decrypts with any, so a key is rotated by
prepending a new one (and `reencrypt_text` moves a value to it). A database dump without the
environment's keys reveals no secret."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

__all__ = ["InvalidToken", "decrypt_text", "encrypt_text", "reencrypt_text"]


def _fernet(keys: Sequence[str | bytes] | None = None) -> MultiFernet:
    keys = list(keys if keys is not None else settings.BLAZZ_SNAPSHOT_KEYS)
    if not keys:
        raise ValueError("no encryption keys (BLAZZ_SNAPSHOT_KEYS is empty)")
    return MultiFernet([Fernet(key) for key in keys])


def encrypt_text(plaintext: str, *, keys: Sequence[str | bytes] | None = None) -> str:
    """A Fernet token (ASCII) of `plaintext`, under the newest key."""
    return _fernet(keys).encrypt(plaintext.encode()).decode("ascii")


def decrypt_text(token: str, *, keys: Sequence[str | bytes] | None = None) -> str:
    """The plaintext of a token made by `encrypt_text` under any of the keys. Raises
    InvalidToken when no key opens it (a key was dropped too early, or the row was tampered)."""
    return _fernet(keys).decrypt(token.encode("ascii")).decode()


def reencrypt_text(token: str, *, keys: Sequence[str | bytes] | None = None) -> str:
    """The same plaintext under the newest key (for key rotation)."""
    return _fernet(keys).rotate(token.encode("ascii")).decode("ascii")
