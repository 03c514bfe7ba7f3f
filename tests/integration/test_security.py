"""Hostile messages against a real Jobber server: each is refused with a 4xx and a reason, and the
server's store (its event log and registry) is exactly as it was."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from jobber.server.cluster import Cluster
from jobber.server.codec import canonical_json, encode_message
from jobber.server.keys import KeyPair
from jobber.server.store import open_store
from jobber.server.wire import seal
from jobber.trust.messages import Feedback, Message
from jobber.types import ConnectionId, InteractionId, Severity, TenantId

T = TenantId


@pytest.fixture(scope="module")
def cluster(cluster_factory: Any) -> Cluster:
    c: Cluster = cluster_factory(["t1", "t2", "t3"], processes=1)
    return c


def key(cluster: Cluster, tenant: str) -> KeyPair:
    return KeyPair.load(cluster.folder / f"{tenant}.key")


def feedback(sender: str = "t2", recipient: str = "t1", **fields: Any) -> Feedback:
    values: dict[str, Any] = {"connection": ConnectionId("t2#99"),
                              "interaction": InteractionId("i1"), "reporter": T(sender),
                              "subject": T("t3"), "severity": Severity.HIGH, "hop": 1}
    values.update(fields)
    return Feedback(T(sender), T(recipient), **values)


def envelope(message: Message, signer: KeyPair, **override: Any) -> dict[str, Any]:
    encoded = encode_message(message)
    env: dict[str, Any] = {"v": 1, "sender": message.sender, "recipient": message.recipient,
                           "timestamp": time.time(), "nonce": "ab" * 16,
                           "type": encoded["type"], "body": encoded["body"]}
    env.update(override)
    env["sig"] = base64.b64encode(signer.sign(canonical_json(env))).decode()
    return env


def state(cluster: Cluster) -> tuple[int, list[tuple[str, bytes]]]:
    store = open_store(f"sqlite:///{cluster.folder / 't1.db'}")
    try:
        return sum(1 for _ in store.events("t1")), store.items("registry")
    finally:
        store.close()


def post(cluster: Cluster, raw: bytes) -> httpx.Response:
    return httpx.post(f"{cluster.members[T('t1')].url}/v1/messages", content=raw,
                      headers={"content-type": "application/json"}, timeout=10)


def tampered_sig(c: Cluster) -> bytes:
    env = json.loads(seal(feedback(), key(c, "t2"), time.time()))
    sig = bytearray(base64.b64decode(env["sig"]))
    sig[0] ^= 1
    env["sig"] = base64.b64encode(bytes(sig)).decode()
    return json.dumps(env).encode()


def tampered_body(c: Cluster) -> bytes:
    env = json.loads(seal(feedback(), key(c, "t2"), time.time()))
    env["body"]["severity"] = "POS"
    return json.dumps(env).encode()


def nan_timestamp(c: Cluster) -> bytes:
    text = json.dumps(envelope(feedback(), key(c, "t2")))
    return text.replace('"timestamp": ', '"timestamp": NaN, "x": ', 1).encode()


CASES: dict[str, tuple[int, Callable[[Cluster], bytes]]] = {
    "forged signature": (401, tampered_sig),
    "body altered after signing": (401, tampered_body),
    "signed with another tenant's key": (401, lambda c: json.dumps(
        envelope(feedback("t3"), key(c, "t2"))).encode()),
    "sender mismatch": (403, lambda c: json.dumps(
        envelope(feedback(), key(c, "t3"), sender="t3")).encode()),
    "unregistered tenant": (403, lambda c: seal(feedback("mallory"), KeyPair.generate(),
                                                time.time())),
    "wrong recipient": (403, lambda c: seal(feedback(recipient="t3"), key(c, "t2"),
                                            time.time())),
    "stale timestamp": (400, lambda c: seal(feedback(), key(c, "t2"), time.time() - 3600)),
    "timestamp from the future": (400, lambda c: seal(feedback(), key(c, "t2"),
                                                      time.time() + 3600)),
    "unknown field in the body": (400, lambda c: json.dumps(envelope(
        feedback(), key(c, "t2"), body={**encode_message(feedback())["body"], "x": 1})).encode()),
    "unknown field in the envelope": (400, lambda c: json.dumps(
        envelope(feedback(), key(c, "t2"), extra="x")).encode()),
    "invalid value": (400, lambda c: json.dumps(envelope(
        feedback(), key(c, "t2"),
        body={**encode_message(feedback())["body"], "severity": "APOCALYPTIC"})).encode()),
    "oversized body": (413, lambda c: b"{" + b" " * 100_000 + b"}"),
    "malformed JSON": (400, lambda c: b'{"v": 1, "sender": '),
    "non-finite number (NaN)": (400, nan_timestamp),
    "non-finite number (1e999)": (400, lambda c: json.dumps(
        envelope(feedback(), key(c, "t2"))).replace('"timestamp": ', '"timestamp": 1e999, '
                                                     '"t0": ', 1).encode()),
    "feedback about a connection the sender is not part of": (422, lambda c: seal(
        feedback(), key(c, "t2"), time.time())),
}


@pytest.mark.parametrize("case", list(CASES))
def test_refused_and_nothing_changes(cluster: Cluster, case: str) -> None:
    status, build = CASES[case]
    before = state(cluster)
    response = post(cluster, build(cluster))
    assert response.status_code == status, response.text
    assert response.json().get("error") or response.json().get("detail")
    assert state(cluster) == before


def test_a_replayed_nonce_is_refused(cluster: Cluster) -> None:
    raw = seal(feedback(interaction=InteractionId("replay")), key(cluster, "t2"), time.time())
    first = post(cluster, raw)
    assert first.status_code == 422  # valid envelope, refused by the trust core
    before = state(cluster)
    second = post(cluster, raw)
    assert second.status_code == 409 and "replayed" in second.json()["error"]
    assert state(cluster) == before


def test_local_and_operator_apis_need_their_tokens(cluster: Cluster) -> None:
    member = cluster.members[T("t1")]
    for path in ("/v1/admin/reputations", "/metrics"):
        assert httpx.get(f"{member.url}{path}", timeout=5).status_code == 401
        wrong = {"authorization": f"Bearer {member.client_token}"}
        assert httpx.get(f"{member.url}{path}", headers=wrong, timeout=5).status_code == 401
    body = {"connection": "x#1", "interaction": "i", "severity": "HIGH"}
    assert httpx.post(f"{member.url}/v1/local/observe", json=body,
                      timeout=5).status_code == 401
    bad = {"connection": "x#1", "interaction": "i", "severity": "HIGH", "extra": 1}
    response = httpx.post(f"{member.url}/v1/local/observe", json=bad, timeout=5,
                          headers={"authorization": f"Bearer {member.client_token}"})
    assert response.status_code == 422
    spec = httpx.get(f"{member.url}/openapi.json", timeout=5).json()
    assert "/v1/messages" in spec["paths"] and "/v1/admin/decisions" in spec["paths"]


def test_a_batch_is_checked_message_by_message(cluster: Cluster) -> None:
    good = seal(feedback(interaction=InteractionId("batch-1")), key(cluster, "t2"), time.time())
    forged = tampered_sig(cluster)
    before = state(cluster)
    response = httpx.post(f"{cluster.members[T('t1')].url}/v1/messages/batch",
                          content=b"\n".join([good, forged, good]), timeout=10)
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [422, 401, 409]  # core refusal, bad signature, replay of the first
    assert state(cluster) == before
    too_many = b"\n".join([good] * 65)
    assert httpx.post(f"{cluster.members[T('t1')].url}/v1/messages/batch", content=too_many,
                      timeout=10).status_code == 413
