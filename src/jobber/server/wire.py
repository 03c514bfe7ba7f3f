"""The signed envelope every message between Jobber servers travels in.

A message (one of the frozen dataclasses of ``jobber.trust.messages``) goes on the wire as the
canonical JSON (sorted keys, no whitespace, UTF-8, finite numbers only) of ::

    {"v": 1, "sender": ..., "recipient": ..., "timestamp": <float seconds>,
     "nonce": <32 hex digits>, "type": "<ClassName>", "body": {...}, "sig": <base64>}

where ``sig`` is the Ed25519 signature of the canonical JSON of every other field. ``seal`` builds
one; ``Verifier.open`` checks one, in this order, each failure a ``WireError`` with the HTTP status
to answer with:

    ====  =========================================================================
    413   more than ``max_bytes``
    400   not JSON, not exactly the envelope's keys and types, non-finite numbers
    403   recipient is not me; sender has no registered key
    401   signature does not verify under the sender's key
    400   timestamp more than ``window`` seconds from now, either way ("stale": a
          client error that re-sealing with a fresh timestamp fixes; 408 is kept
          for its transport meaning, which proxies and clients act on)
    400   body is not a valid message of that type
    403   the message's own sender/recipient differ from the envelope's
    409   the nonce was already seen from that sender (a replay)
    429   (``MemoryNonces`` only) the sender sent too many messages within the window
    ====  =========================================================================

Invariants: a refused envelope changes nothing — the nonce is recorded last, only for a message
that passed every other check, and for as long as its timestamp stays in the window (so a replay
is refused either as seen or as stale). The body and the canonical byte form are
``jobber.server.codec``'s: ``seal`` validates what it encodes, so a server never sends what a
peer would refuse. Errors never carry key material.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jobber.server.codec import (
    MAX_ID,
    WireError,
    canonical_json,
    decode_message,
    encode_message,
    encode_ticket,
    load_json,
    show,
)
from jobber.server.keys import KeyPair
from jobber.server.nonces import NonceStore
from jobber.trust.messages import Message, Ticket
from jobber.types import TenantId

__all__ = ["VERSION", "Verifier", "public_key_from_b64", "seal", "sign_ticket", "verify_ticket"]

VERSION = 1
ENVELOPE_KEYS = frozenset({"v", "sender", "recipient", "timestamp", "nonce", "type", "body", "sig"})
_NONCE = re.compile(r"[0-9a-f]{32}")


# --- keys, tickets ----------------------------------------------------------------------------


def _b64(text: object, size: int, what: str) -> bytes:
    if type(text) is not str or len(text) > 4 * size:
        raise WireError(400, f"{what} is not base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise WireError(400, f"{what} is not base64") from None
    if len(raw) != size:
        raise WireError(400, f"{what} must be {size} bytes")
    return raw


def public_key_from_b64(s: str) -> Ed25519PublicKey:
    """The public key whose 32 raw bytes ``s`` encodes; ``WireError`` (400) if it is not one."""
    raw = _b64(s, 32, "Ed25519 public key")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise WireError(400, "not an Ed25519 public key") from None


def _ticket_bytes(ticket: Ticket) -> bytes:
    # a ticket's keys and an envelope's keys are disjoint: neither signature passes for the other
    return canonical_json(encode_ticket(ticket))


def sign_ticket(ticket: Ticket, key: KeyPair) -> str:
    """The target's detached signature of a grant, for any third party to check."""
    return base64.b64encode(key.sign(_ticket_bytes(ticket))).decode("ascii")


def verify_ticket(ticket: Ticket, signature: str, public: Ed25519PublicKey) -> bool:
    """Whether ``signature`` is ``public``'s signature of exactly this ticket."""
    try:
        public.verify(_b64(signature, 64, "signature"), _ticket_bytes(ticket))
    except (WireError, TypeError, InvalidSignature):
        return False
    return True


# --- envelopes --------------------------------------------------------------------------------


def seal(msg: Message, key: KeyPair, now: float, nonce: str | None = None) -> bytes:
    """The canonical, signed envelope of ``msg`` from ``msg.sender`` to ``msg.recipient``."""
    encoded = encode_message(msg)
    if nonce is None:
        nonce = secrets.token_hex(16)
    elif type(nonce) is not str or not _NONCE.fullmatch(nonce):
        raise WireError(400, "nonce must be 32 lowercase hex digits")
    envelope: dict[str, Any] = {
        "v": VERSION, "sender": msg.sender, "recipient": msg.recipient,
        "timestamp": float(now), "nonce": nonce, "type": encoded["type"], "body": encoded["body"],
    }
    envelope["sig"] = base64.b64encode(key.sign(canonical_json(envelope))).decode("ascii")
    return canonical_json(envelope)


def _number(value: object) -> bool:
    return (type(value) is float or type(value) is int) and math.isfinite(value)


def _id(value: object) -> bool:
    return type(value) is str and 0 < len(value) <= MAX_ID


class Verifier:
    """Opens envelopes addressed to ``me``; see the module docstring for the checks and order."""

    def __init__(self, me: TenantId, keys: Callable[[TenantId], Ed25519PublicKey | None],
                 nonces: NonceStore, *, window: float = 30.0, max_bytes: int = 65536) -> None:
        if not (math.isfinite(window) and window > 0) or max_bytes <= 0:
            raise ValueError("window and max_bytes must be positive")
        self.me = me
        self.keys = keys
        self.nonces = nonces
        self.window = window
        self.max_bytes = max_bytes

    def open(self, raw: bytes, now: float) -> Message:
        """The message in ``raw``, or ``WireError`` and nothing changed."""
        if len(raw) > self.max_bytes:
            raise WireError(413, f"envelope larger than {self.max_bytes} bytes")
        env = load_json(raw)
        if type(env) is not dict:
            raise WireError(400, "envelope is not a JSON object")
        if env.keys() != ENVELOPE_KEYS:
            extra = sorted(env.keys() - ENVELOPE_KEYS)[:4]
            missing = sorted(ENVELOPE_KEYS - env.keys())
            raise WireError(400, f"envelope keys: unknown {show(extra)}, missing {missing}")
        sender, recipient, stamp = env["sender"], env["recipient"], env["timestamp"]
        if type(env["v"]) is not int or env["v"] != VERSION:
            raise WireError(400, f"unsupported envelope version {show(env['v'])}")
        if not (_id(sender) and _id(recipient)):
            raise WireError(400, "envelope sender and recipient must be ids")
        if not _number(stamp):
            raise WireError(400, "envelope timestamp must be a finite number")
        if type(env["nonce"]) is not str or not _NONCE.fullmatch(env["nonce"]):
            raise WireError(400, "envelope nonce must be 32 lowercase hex digits")
        if type(env["type"]) is not str or not 0 < len(env["type"]) <= 64:
            raise WireError(400, "envelope type must be a message type name")
        if type(env["body"]) is not dict:
            raise WireError(400, "envelope body must be a JSON object")
        signature = _b64(env["sig"], 64, "envelope sig")

        if recipient != self.me:
            raise WireError(403, f"envelope is for {show(recipient)}, not for this server")
        public = self.keys(TenantId(sender))
        if public is None:
            raise WireError(403, f"unknown sender {show(sender)}: no registered key")
        signed = canonical_json({k: v for k, v in env.items() if k != "sig"})
        try:
            public.verify(signature, signed)
        except InvalidSignature:
            raise WireError(401, f"bad signature from {show(sender)}") from None
        if not abs(stamp - now) <= self.window:  # also refuses a NaN ``now``
            raise WireError(400, f"stale timestamp: {stamp - now:+.1f} s from now "
                                 f"(window ±{self.window:g} s); check the clocks")
        message = decode_message(env["type"], env["body"])
        if message.sender != sender or message.recipient != recipient:
            raise WireError(403, "message sender/recipient differ from the envelope's")
        if not self.nonces.remember(TenantId(sender), env["nonce"], stamp + self.window):
            raise WireError(409, f"replayed nonce from {show(sender)}")
        return message
