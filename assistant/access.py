"""Secrets of the HTTP API: shop keys and per-conversation tokens, stored only as SHA-256 hashes.

Both are 256-bit random strings, so a plain SHA-256 is enough to store them (no salt or slow hash is
needed for secrets nobody chose); comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sk_shop_"
TOKEN_PREFIX = "ct_"


def new_secret(prefix: str) -> tuple[str, str]:
    """A new random secret and the hash to store for it."""
    secret = prefix + secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, stored_hash: str | None) -> bool:
    """Whether `secret` hashes to `stored_hash`, in constant time."""
    return bool(stored_hash) and hmac.compare_digest(hash_secret(secret), stored_hash)
