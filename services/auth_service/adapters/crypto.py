"""Signing keys: Ed25519 key pairs, their public JWK, and the encryption of the
private half at rest (AES-256-GCM under AUTH_KEY_ENCRYPTION_KEY)."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jwt.algorithms import OKPAlgorithm

ALGORITHM: Final = "EdDSA"
_NONCE_BYTES: Final = 12
KEK_BYTES: Final = 32


def decode_kek(encoded: str) -> bytes:
    """The key-encryption key from its base64url form; it must be 32 bytes."""
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    if len(raw) != KEK_BYTES:
        raise ValueError(f"AUTH_KEY_ENCRYPTION_KEY must be {KEK_BYTES} bytes, base64url")
    return raw


def new_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEK_BYTES)).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class KeyPair:
    kid: str
    private_key: Ed25519PrivateKey
    public_jwk: dict[str, Any]


def generate() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    kid = secrets.token_urlsafe(12)
    jwk = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return KeyPair(kid, private, jwk)


def seal(pair: KeyPair, kek: bytes) -> bytes:
    """nonce ‖ ciphertext of the raw private key; the kid is bound as associated data."""
    raw = pair.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, raw, pair.kid.encode())


def unseal(kid: str, sealed: bytes, public_jwk: dict[str, Any], kek: bytes) -> KeyPair:
    raw = AESGCM(kek).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], kid.encode())
    return KeyPair(kid, Ed25519PrivateKey.from_private_bytes(raw), public_jwk)
