"""The signed envelope: every refusal has its status and leaves the nonce store as it was."""

from __future__ import annotations

import base64
import json
import math
import os
import stat
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobber.errors import ConfigError, ProtocolError
from jobber.server import codec
from jobber.server.codec import WireError, canonical_json, decode_message, encode_message
from jobber.server.keys import KeyPair
from jobber.server.nonces import MemoryNonces
from jobber.server.wire import (
    ENVELOPE_KEYS,
    Verifier,
    public_key_from_b64,
    seal,
    sign_ticket,
    verify_ticket,
)
from jobber.trust.evidence import Opinion
from jobber.trust.messages import (
    Accept,
    Feedback,
    IntroOffer,
    IntroRefuse,
    IntroRequest,
    LinkNotice,
    Message,
    Mode,
    Propose,
    Recall,
    StatusNotice,
    Ticket,
    Vouch,
)
from jobber.types import PROVIDER, ConnectionId, InteractionId, Severity, Status, TenantId

NOW = 1_700_000_000.25
ALICE, BOB, CAROL, DAVE = TenantId("alice"), TenantId("bob"), TenantId("carol"), TenantId("dave")
MALLORY, EVE = TenantId("mallory"), TenantId("eve")
CONN = ConnectionId("c-0001")
KEYS = {t: KeyPair.generate() for t in (ALICE, BOB, CAROL, MALLORY, PROVIDER)}  # eve: unregistered
EVE_KEY = KeyPair.generate()


def registered(tenant: TenantId) -> Ed25519PublicKey | None:
    pair = KEYS.get(tenant)
    return None if pair is None else pair.public


class Spy(MemoryNonces):
    """A real in-memory store that also counts what it was asked."""

    def __init__(self) -> None:
        super().__init__(clock=lambda: NOW)
        self.calls = 0

    def remember(self, sender: TenantId, nonce: str, expires: float) -> bool:
        self.calls += 1
        return super().remember(sender, nonce, expires)


def verifier(me: TenantId = BOB) -> tuple[Verifier, Spy]:
    store = Spy()
    return Verifier(me, registered, store), store


OPINION = Opinion(0.6, 0.1, 0.3)
VOUCH = Vouch(CAROL, ALICE, OPINION)
PROBATION = Vouch(PROVIDER, ALICE, Opinion(0.0, 0.0, 1.0), probation=True)
TICKET = Ticket(CONN, ALICE, BOB, (CAROL,), Status.PROBATION, NOW, NOW + 3600.0,
                "fused opinion ≥ θ_accept")
FEEDBACK = Feedback(ALICE, BOB, CONN, InteractionId("i-7"), ALICE, CAROL, Severity.HIGH, 1)
REFUSE = IntroRefuse(ALICE, BOB, CONN, "score below θ_intro")
EXAMPLES: list[Message] = [
    IntroRequest(ALICE, BOB, CONN, ALICE, DAVE, (BOB, CAROL), 0, (VOUCH, PROBATION), Mode.CHAIN),
    IntroOffer(ALICE, BOB, CONN, VOUCH),
    REFUSE,
    Propose(ALICE, BOB, CONN, ALICE, BOB, (), ()),
    Propose(ALICE, BOB, CONN, ALICE, BOB, (CAROL,), (VOUCH,)),
    Accept(ALICE, BOB, CONN, TICKET),
    FEEDBACK,
    Recall(ALICE, BOB, CONN, CAROL, "negative feedback (MED)"),
    StatusNotice(ALICE, BOB, CONN, Status.DEMOTED, ""),
    LinkNotice(ALICE, BOB, CONN, ALICE, BOB, True),
]


def envelope(msg: Message = FEEDBACK, **kw: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(seal(msg, KEYS[msg.sender], kw.pop("now", NOW)))
    return parsed


def resign(env: dict[str, Any], key: KeyPair) -> bytes:
    """An envelope with whatever fields, correctly signed by ``key`` (a valid peer gone wrong)."""
    unsigned = {k: v for k, v in env.items() if k != "sig"}
    env = {**unsigned, "sig": base64.b64encode(key.sign(canonical_json(unsigned))).decode()}
    return canonical_json(env)


def refused(raw: bytes, status: int, now: float = NOW, me: TenantId = BOB) -> WireError:
    check, store = verifier(me)
    with pytest.raises(WireError) as caught:
        check.open(raw, now)
    assert caught.value.status == status, caught.value.reason
    assert len(store) == 0 and store.calls == 0
    return caught.value


# --- round trips ------------------------------------------------------------------------------


def test_every_message_type_has_an_example() -> None:
    assert {type(m).__name__ for m in EXAMPLES} == set(codec._message_types())


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_type_round_trips_through_seal_and_open(msg: Message) -> None:
    check, store = verifier()
    assert check.open(seal(msg, KEYS[ALICE], NOW), NOW) == msg
    assert len(store) == 1
    encoded = encode_message(msg)
    assert json.loads(json.dumps(encoded)) == encoded  # JSON-safe as it stands
    assert decode_message(encoded["type"], encoded["body"]) == msg


def test_enums_travel_by_name_except_mode_by_value_and_tuples_as_lists() -> None:
    assert encode_message(FEEDBACK)["body"]["severity"] == "HIGH"
    assert encode_message(EXAMPLES[8])["body"]["status"] == "DEMOTED"
    body = encode_message(EXAMPLES[0])["body"]
    assert body["mode"] == "chain" and body["path"] == ["bob", "carol"]
    assert body["chain"][1] == {"introducer": "provider", "subject": "alice", "probation": True,
                                "opinion": {"b": 0.0, "d": 0.0, "u": 1.0}}
    assert encode_message(EXAMPLES[5])["body"]["ticket"]["status"] == "PROBATION"


def test_the_envelope_is_canonical_json_with_exactly_its_keys() -> None:
    raw = seal(FEEDBACK, KEYS[ALICE], NOW, nonce="0" * 32)
    env = json.loads(raw)
    assert env.keys() == ENVELOPE_KEYS and raw == canonical_json(env)
    assert (env["v"], env["sender"], env["recipient"], env["timestamp"], env["type"]) == (
        1, "alice", "bob", NOW, "Feedback")
    assert len(json.loads(seal(FEEDBACK, KEYS[ALICE], NOW))["nonce"]) == 32
    assert json.loads(seal(FEEDBACK, KEYS[ALICE], NOW))["nonce"] != env["nonce"]


# --- refusals ---------------------------------------------------------------------------------


def test_a_flipped_signature_byte_is_refused_401() -> None:
    env = envelope()
    sig = bytearray(base64.b64decode(env["sig"]))
    sig[10] ^= 0x01
    env["sig"] = base64.b64encode(bytes(sig)).decode()
    refused(canonical_json(env), 401)


def test_a_changed_body_is_refused_401() -> None:
    env = envelope()
    env["body"]["severity"] = "POS"
    refused(canonical_json(env), 401)
    raw = seal(FEEDBACK, KEYS[ALICE], NOW)
    refused(raw.replace(b'"i-7"', b'"i-8"'), 401)


def test_an_envelope_sender_other_than_the_message_sender_is_refused_403() -> None:
    env = envelope()
    env["sender"] = MALLORY  # mallory signs alice's message with her own key
    error = refused(resign(env, KEYS[MALLORY]), 403)
    assert "differ" in error.reason


def test_a_message_signed_by_another_key_is_refused_401() -> None:
    refused(resign(envelope(), KEYS[MALLORY]), 401)  # claims alice, signed by mallory
    refused(seal(FEEDBACK, KEYS[MALLORY], NOW), 401)


def test_a_message_for_someone_else_is_refused_403() -> None:
    refused(seal(FEEDBACK, KEYS[ALICE], NOW), 403, me=CAROL)
    env = envelope()
    env["body"]["recipient"] = CAROL  # envelope to bob, message to carol
    refused(resign(env, KEYS[ALICE]), 403)


def test_an_unregistered_sender_is_refused_403() -> None:
    msg = replace(FEEDBACK, sender=EVE)
    error = refused(seal(msg, EVE_KEY, NOW), 403)
    assert "unknown sender" in error.reason


def test_a_replayed_nonce_is_refused_409_and_the_first_copy_counts_once() -> None:
    check, store = verifier()
    raw = seal(FEEDBACK, KEYS[ALICE], NOW)
    assert check.open(raw, NOW) == FEEDBACK
    with pytest.raises(WireError) as caught:
        check.open(raw, NOW + 5.0)
    assert caught.value.status == 409
    assert len(store) == 1
    # the same nonce from another sender is another nonce
    nonce = json.loads(raw)["nonce"]
    assert check.open(seal(replace(FEEDBACK, sender=CAROL), KEYS[CAROL], NOW, nonce), NOW)
    assert len(store) == 2


@pytest.mark.parametrize("skew", [-30.001, 30.001, -3600.0, 1e9])
def test_a_timestamp_outside_the_window_is_refused_400(skew: float) -> None:
    error = refused(seal(FEEDBACK, KEYS[ALICE], NOW + skew), 400)
    assert error.reason.startswith("stale timestamp")


@pytest.mark.parametrize("skew", [-30.0, 0.0, 30.0])
def test_a_timestamp_inside_the_window_is_accepted(skew: float) -> None:
    check, _ = verifier()
    assert check.open(seal(FEEDBACK, KEYS[ALICE], NOW + skew), NOW) == FEEDBACK


def test_a_nan_clock_refuses_everything() -> None:
    refused(seal(FEEDBACK, KEYS[ALICE], NOW), 400, now=math.nan)


def test_unknown_and_missing_fields_are_refused_400() -> None:
    env = envelope()
    env["body"]["extra"] = 1
    assert "extra" in refused(resign(env, KEYS[ALICE]), 400).reason
    env = envelope()
    del env["body"]["hop"]
    assert "hop" in refused(resign(env, KEYS[ALICE]), 400).reason
    env = envelope(EXAMPLES[0])
    env["body"]["chain"][0]["opinion"]["x"] = 0.5  # deep inside a nested dataclass
    refused(resign(env, KEYS[ALICE]), 400)
    env = envelope()
    env["extra"] = 1
    refused(resign(env, KEYS[ALICE]), 400)
    env = envelope()
    del env["nonce"]
    refused(resign(env, KEYS[ALICE]), 400)


def test_an_unknown_message_type_is_refused_400() -> None:
    env = envelope()
    env["type"] = "Connect"  # a local event, not a message
    refused(resign(env, KEYS[ALICE]), 400)
    with pytest.raises(WireError):
        decode_message("Tick", {})


def test_an_oversized_envelope_is_refused_413() -> None:
    raw = seal(replace(REFUSE, reason="x" * 1000), KEYS[ALICE], NOW)
    assert Verifier(BOB, registered, Spy(), max_bytes=len(raw)).open(raw, NOW)
    with pytest.raises(WireError) as caught:
        Verifier(BOB, registered, Spy(), max_bytes=len(raw) - 1).open(raw, NOW)
    assert caught.value.status == 413
    refused(b"{" + b" " * 70_000 + b"}", 413)
    env = envelope(REFUSE)
    env["body"]["reason"] = "x" * 70_000
    refused(resign(env, KEYS[ALICE]), 413)
    env["body"]["reason"] = "x" * 5_000  # fits the envelope, not the field's bound
    refused(resign(env, KEYS[ALICE]), 400)


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b'{"v":1,}',
                                 b'{"v": 1} trailing', b"[" * 5000 + b"]" * 5000])
def test_malformed_json_is_refused_400(raw: bytes) -> None:
    refused(raw, 400)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"])
def test_non_finite_numbers_in_the_json_text_are_refused_400(literal: bytes) -> None:
    raw = seal(FEEDBACK, KEYS[ALICE], NOW)
    stamp = json.dumps(NOW).encode()
    refused(raw.replace(stamp, literal), 400)
    raw = seal(EXAMPLES[1], KEYS[ALICE], NOW)
    refused(raw.replace(b'"b":0.6', b'"b":' + literal), 400)


def test_non_finite_numbers_are_refused_even_when_signed() -> None:
    for value in (math.nan, math.inf):
        with pytest.raises(WireError) as caught:
            canonical_json({"b": value})
        assert caught.value.status == 400
    with pytest.raises(WireError):  # never sealed either
        seal(IntroOffer(ALICE, BOB, CONN, Vouch(CAROL, ALICE, Opinion(math.nan, 0, 1))),
             KEYS[ALICE], NOW)


@pytest.mark.parametrize(("where", "value"), [
    ("timestamp", "1700000000.25"),  # string where float
    ("timestamp", True),
    ("v", True),  # bool where int
    ("v", 2),
    ("nonce", "0" * 31),
    ("nonce", "G" * 32),
    ("sender", ""),
    ("sender", 7),
    ("body", []),
    ("type", 1),
    ("sig", "not base64!"),
    ("sig", base64.b64encode(b"short").decode()),
])
def test_wrong_envelope_types_are_refused_400(where: str, value: object) -> None:
    env = envelope()
    env[where] = value
    raw = canonical_json(env) if where == "sig" else resign(env, KEYS[ALICE])
    refused(raw, 400)


@pytest.mark.parametrize(("where", "value"), [
    ("hop", True),  # bool where int
    ("hop", 1.0),
    ("hop", -1),
    ("hop", 17),
    ("severity", 3),  # by name, not by value
    ("severity", "high"),
    ("connection", ""),
    ("connection", "c" * 129),
    ("subject", None),
    ("reporter", ["alice"]),
])
def test_wrong_body_types_are_refused_400(where: str, value: object) -> None:
    env = envelope()
    env["body"][where] = value
    refused(resign(env, KEYS[ALICE]), 400)


@pytest.mark.parametrize(("path", "value"), [
    (("ticket", "issued"), "now"),  # string where float
    (("ticket", "issued"), False),
    (("ticket", "status"), "LIVE"),
    (("ticket", "path"), "carol"),
    (("ticket", "path"), ["p"] * 17),
])
def test_wrong_nested_types_are_refused_400(path: tuple[str, str], value: object) -> None:
    env = envelope(EXAMPLES[5])
    env["body"][path[0]][path[1]] = value
    refused(resign(env, KEYS[ALICE]), 400)


def test_an_opinion_outside_the_unit_interval_is_refused() -> None:
    env = envelope(EXAMPLES[1])
    env["body"]["vouch"]["opinion"]["b"] = 5.0
    refused(resign(env, KEYS[ALICE]), 400)


def test_refusals_do_not_echo_signatures_or_keys() -> None:
    env = envelope()
    env["body"]["severity"] = "POS"
    error = refused(canonical_json(env), 401)
    for secret in (env["sig"], KEYS[ALICE].public_b64):
        assert secret not in str(error) and secret not in repr(error)
    assert "PRIVATE" not in repr(KEYS[ALICE])


def test_wire_error_is_a_protocol_error_with_status_and_reason() -> None:
    error = WireError(409, "replayed nonce")
    assert isinstance(error, ProtocolError)
    assert (error.status, error.reason) == (409, "replayed nonce")


def test_seal_refuses_what_a_peer_would_refuse() -> None:
    for bad in (replace(FEEDBACK, connection=ConnectionId("c" * 200)),
                replace(FEEDBACK, sender=TenantId("")),
                replace(FEEDBACK, hop=99)):
        with pytest.raises(WireError):
            seal(bad, KEYS[ALICE], NOW)
    with pytest.raises(WireError):
        seal(FEEDBACK, KEYS[ALICE], NOW, nonce="not-hex")


# --- property tests ---------------------------------------------------------------------------

ids = st.text(min_size=1, max_size=128).map(TenantId)
texts = st.text(max_size=200)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.builds(Feedback, ids, st.just(BOB), ids.map(ConnectionId), ids.map(InteractionId), ids,
              ids, st.sampled_from(Severity), st.integers(0, 16)),
    st.builds(StatusNotice, ids, st.just(BOB), ids.map(ConnectionId), st.sampled_from(Status),
              texts),
), st.floats(-30.0, 30.0))
def test_feedback_and_status_notices_round_trip(msg: Feedback | StatusNotice, skew: float) -> None:
    key = KEYS[ALICE]
    check = Verifier(BOB, lambda tenant: key.public, MemoryNonces(clock=lambda: NOW))
    assert check.open(seal(msg, key, NOW + skew), NOW) == msg


def _open_only_raises_wire_errors(raw: bytes) -> None:
    check, store = verifier()
    try:
        check.open(raw, NOW)
    except WireError as error:
        assert 400 <= error.status < 500
        assert len(store) == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_wire_errors(raw: bytes) -> None:
    _open_only_raises_wire_errors(raw)


@settings(max_examples=300)
@given(st.dictionaries(st.sampled_from(sorted(ENVELOPE_KEYS)) | st.text(max_size=5),
                       json_values, max_size=9))
def test_random_json_objects_only_raise_wire_errors(obj: dict[str, Any]) -> None:
    _open_only_raises_wire_errors(json.dumps(obj).encode())


@settings(max_examples=300)
@given(st.sampled_from(EXAMPLES), st.sampled_from(sorted(ENVELOPE_KEYS)), json_values,
       st.booleans())
def test_envelopes_with_one_field_replaced_only_raise_wire_errors(
        msg: Message, key: str, value: Any, sign: bool) -> None:
    env = envelope(msg)
    body_keys = sorted(env["body"])
    env["body" if sign else key] = value if not sign else {**env["body"], body_keys[0]: value}
    raw = json.dumps(env).encode()
    if sign:
        try:
            raw = resign(env, KEYS[ALICE])
        except WireError:
            return  # not even canonical JSON (a NaN): nothing to send
    _open_only_raises_wire_errors(raw)


# --- tickets and keys -------------------------------------------------------------------------


def test_a_ticket_signature_verifies_and_fails_when_anything_changes() -> None:
    target = KEYS[BOB]
    signature = sign_ticket(TICKET, target)
    assert verify_ticket(TICKET, signature, target.public)
    for name in (f.name for f in fields(Ticket)):
        value = getattr(TICKET, name)
        changed: Any = (Status.TRUSTED if isinstance(value, Status) else value + 1.0
                   if isinstance(value, float) else (*value, DAVE) if isinstance(value, tuple)
                   else value + "x")
        assert not verify_ticket(replace(TICKET, **{name: changed}), signature, target.public)
    assert not verify_ticket(TICKET, signature, KEYS[ALICE].public)
    assert not verify_ticket(TICKET, "garbage", target.public)
    assert not verify_ticket(TICKET, signature[:-4] + "AAA=", target.public)


def test_keys_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "tenant.key"
    pair = KeyPair.generate()
    pair.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Path(f"{path}.pub").read_text().strip() == pair.public_b64
    loaded = KeyPair.load(path)
    assert loaded.public_b64 == pair.public_b64
    pair.public.verify(loaded.sign(b"x"), b"x")
    assert public_key_from_b64(pair.public_b64).public_bytes_raw() == \
        pair.public.public_bytes_raw()
    KeyPair.generate().save(path)  # replaced atomically, still private
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert KeyPair.load(path).public_b64 != pair.public_b64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tenant.key", "tenant.key.pub"]


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"-----BEGIN PRIVATE KEY-----\nAAAA\n",
                                     b"\x00" * 100_000])
def test_a_corrupt_key_file_is_a_clear_config_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tenant.key"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=r"tenant\.key"):
        KeyPair.load(path)


def test_missing_foreign_and_mismatched_key_files_are_clear_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        KeyPair.load(tmp_path / "absent.key")
    rsa_like = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    (tmp_path / "ec.key").write_bytes(rsa_like)
    with pytest.raises(ConfigError, match="not Ed25519"):
        KeyPair.load(tmp_path / "ec.key")
    KeyPair.generate().save(tmp_path / "a.key")
    (tmp_path / "a.key.pub").write_text(KeyPair.generate().public_b64)
    with pytest.raises(ConfigError, match="does not match"):
        KeyPair.load(tmp_path / "a.key")


@pytest.mark.parametrize("text", ["", "!!!!", base64.b64encode(b"x" * 31).decode(), 42])
def test_a_bad_public_key_is_refused_400(text: Any) -> None:
    with pytest.raises(WireError) as caught:
        public_key_from_b64(text)
    assert caught.value.status == 400


def test_canonical_json_is_sorted_compact_utf8_and_json_only() -> None:
    assert canonical_json({"b": [1, 2.5], "a": "θ"}) == '{"a":"θ","b":[1,2.5]}'.encode()
    for bad in ({1: 2}, {"x": b"bytes"}, {"x": {1, 2}}, {"x": 2**70}):
        with pytest.raises(WireError):
            canonical_json(bad)


def test_memory_nonces_forget_expired_nonces_and_bound_each_sender() -> None:
    now = [NOW]
    store = MemoryNonces(clock=lambda: now[0], per_sender=2)
    assert store.remember(ALICE, "n1", NOW + 10)
    assert not store.remember(ALICE, "n1", NOW + 10)
    assert store.remember(ALICE, "n2", NOW + 20)
    with pytest.raises(WireError) as caught:
        store.remember(ALICE, "n3", NOW + 20)
    assert caught.value.status == 429 and len(store) == 2
    assert store.remember(BOB, "n3", NOW + 20)
    now[0] = NOW + 10.5
    assert store.remember(ALICE, "n3", NOW + 20) and len(store) == 3
    now[0] = NOW + 20.5
    assert store.remember(ALICE, "n1", NOW + 30) and len(store) == 1  # expired: new again
