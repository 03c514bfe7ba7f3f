"""A Jobber server's Ed25519 key pair, and the files it lives in.

The private key is a PEM PKCS8 (unencrypted) file readable by its owner only (mode 0600); the
public key sits beside it in ``<path>.pub`` as the base64 of its 32 raw bytes — the form the
provider's registry and the wire use. Both files are written atomically (temporary file, fsync,
rename), so a crash never leaves a half-written key.

Invariants: no exception, log line or ``repr`` ever carries private key material; a key file that
is missing, unreadable, corrupt, not Ed25519 or contradicted by its ``.pub`` raises a
``ConfigError`` naming the file and what to do, never a third-party traceback.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from jobber.errors import ConfigError

MAX_KEY_FILE = 16 * 1024
"""A PEM Ed25519 key is ~120 bytes; anything far larger is not a key file."""


class KeyPair:
    """An Ed25519 signing key and its public half."""

    __slots__ = ("_private", "public", "public_b64")

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public: Ed25519PublicKey = private.public_key()
        raw = self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_b64: str = base64.b64encode(raw).decode("ascii")

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the private key (0600) to ``path`` and the public key to ``<path>.pub``."""
        target = Path(path)
        pem = self._private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        _write_atomic(target, pem, 0o600)
        _write_atomic(_pub_path(target), (self.public_b64 + "\n").encode("ascii"), 0o644)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> KeyPair:
        """Read a key written by ``save``; ``ConfigError`` says what is wrong and how to fix it."""
        source = Path(path)
        try:
            with source.open("rb") as handle:
                data = handle.read(MAX_KEY_FILE + 1)
        except FileNotFoundError:
            raise ConfigError(
                f"key file {str(source)!r} not found; generate one with "
                "KeyPair.generate().save(path) and register its .pub with the provider"
            ) from None
        except OSError as exc:
            raise ConfigError(f"cannot read key file {str(source)!r}: {exc.strerror}") from None
        if len(data) > MAX_KEY_FILE:
            raise ConfigError(f"key file {str(source)!r} is too large to be an Ed25519 key")
        try:
            private = load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # ``from None``: the library's message may quote parts of the file
            raise ConfigError(
                f"key file {str(source)!r} is not an unencrypted PEM PKCS8 private key"
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"key file {str(source)!r} holds a key that is not Ed25519")
        pair = cls(private)
        pub = _pub_path(source)
        try:
            written: str | None = pub.read_text("ascii", errors="replace").strip()
        except FileNotFoundError:
            written = None  # the public half is optional: it is derived from the private key
        except OSError as exc:
            raise ConfigError(f"cannot read {str(pub)!r}: {exc.strerror}") from None
        if written is not None and written != pair.public_b64:
            raise ConfigError(
                f"{str(pub)!r} does not match the private key in {str(source)!r}; "
                "delete the .pub file and save the key again"
            )
        return pair

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public_b64!r})"


def _pub_path(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.fchmod(fd, mode)  # the umask may have taken bits away; never adds any
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ConfigError(f"cannot write key file {str(path)!r}: {exc.strerror}") from None
    with contextlib.suppress(OSError):  # make the rename durable where the platform allows
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
