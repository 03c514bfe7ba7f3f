"""The Jobber server's HTTP interface (FastAPI): peers, the local Jobber client, the operator.

Three audiences, three prefixes:

* ``POST /v1/messages`` — signed envelopes from other Jobber servers (any message of the
  introduction protocol, feedback, recalls, notices). Verified before anything changes; a
  refusal is a 4xx with a reason. Acknowledged (202) only once durable.
* ``/v1/local/…`` — the tenant's own Jobber client and sensors, behind the client token:
  introduction attempts, feedback, and a stream of decisions (server-sent events).
* ``/v1/admin/…`` and ``/metrics`` — the operator, behind the admin token: reputations,
  connections, grants, recent feedback, every decision with its explanation, Prometheus
  metrics (``jobber.server.operator``). The provider adds tenant registration, the registry and
  the directory.

The OpenAPI document is served at ``/openapi.json`` (and ``/docs``). Without a configured token
the endpoints behind it refuse every request (secure by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from jobber.config import ServerSettings
from jobber.errors import ProtocolError
from jobber.server.codec import WireError
from jobber.server.courier import BATCH_MESSAGES
from jobber.server.http import LeanTransport
from jobber.server.keys import KeyPair
from jobber.server.operator import operator_routes
from jobber.server.peers import Transport
from jobber.server.runtime import Decided, Refused, Runtime
from jobber.server.sensing import MAX_BATCH
from jobber.server.store import Store, StoreError, open_store
from jobber.trust.messages import Mode, Observe
from jobber.types import PROVIDER, ConnectionId, InteractionId, Severity, TenantId

MAX_MESSAGE = 64 * 1024
_ID = r"^[a-z0-9][a-z0-9_.#-]{0,127}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ConnectBody(_Body):
    target: str = Field(pattern=_ID)
    path: list[str] = Field(default_factory=list, max_length=8)
    mode: Literal["sequential", "chain"] = "sequential"
    timeout: float | None = Field(None, gt=0, le=60)


class ObserveBody(_Body):
    connection: str = Field(pattern=_ID)
    interaction: str = Field(min_length=1, max_length=128)
    severity: Literal["POS", "LOW", "MED", "HIGH"]


class InteractionBody(_Body):
    connection: str = Field(pattern=_ID)
    interaction: str = Field(min_length=1, max_length=128)
    started: float = Field(ge=0)
    ended: float = Field(ge=0)
    packets: int = Field(0, ge=0)
    bytes: int = Field(0, ge=0)


class RegisterBody(_Body):
    tenant: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    public_key: str = Field(min_length=40, max_length=64)
    url: str = Field(pattern=r"^https?://", max_length=200)


def create_app(settings: ServerSettings, *, store: Store | None = None,
               key: KeyPair | None = None, transport: Transport | None = None,
               clock: Callable[[], float] = time.time) -> FastAPI:
    """The server for ``settings``; ``store``, ``key`` and ``transport`` may be injected."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_store: Store = (store if store is not None
                            else await asyncio.to_thread(open_store, settings.store_url))
        the_key = key or KeyPair.load(settings.key_file)
        the_transport = transport or LeanTransport()
        runtime = Runtime(settings, the_key, the_store, the_transport, clock=clock)
        if settings.is_provider:
            _load_registry(runtime)
        app.state.runtime = runtime
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            if transport is None:
                await the_transport.aclose()
            if store is None:
                the_store.close()

    title = "Jobber provider" if settings.is_provider else f"Jobber server ({settings.me})"
    app = FastAPI(title=title, version="1", lifespan=lifespan)

    def runtime(request: Request) -> Runtime:
        rt: Runtime = request.app.state.runtime
        return rt

    def token(kind: Literal["admin", "client"]) -> Callable[[Request], Awaitable[None]]:
        expected = settings.admin_token if kind == "admin" else settings.client_token

        async def check(request: Request) -> None:  # async: FastAPI would run a sync one in a
            # worker thread, a costly hop on every request
            given = request.headers.get("authorization", "")
            if expected is None:
                raise HTTPException(403, f"no {kind} token is configured on this server")
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                raise HTTPException(401, f"missing or wrong {kind} token")

        return check

    admin = [Depends(token("admin"))]
    client = [Depends(token("client"))]

    @app.exception_handler(WireError)
    async def _wire_error(_request: Request, exc: WireError) -> JSONResponse:
        return JSONResponse({"error": exc.reason}, status_code=exc.status)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> JSONResponse:
        # Nothing was acknowledged and nothing changed: the sender may try again.
        return JSONResponse({"error": f"store unavailable: {exc}"}, status_code=503)

    @app.post("/v1/messages", status_code=202, tags=["peers"])
    async def messages(request: Request) -> JSONResponse:
        """A signed envelope from another Jobber server (``FastMessages`` serves this path
        ahead of the router in a running server; this route is the same, for everyone else)."""
        raw = await _bounded_body(request, MAX_MESSAGE)
        status, answer = await receive_envelope(runtime(request), raw)
        return JSONResponse(answer, status_code=status)

    @app.post("/v1/messages/batch", tags=["peers"])
    async def messages_batch(request: Request) -> dict[str, list[dict[str, Any]]]:
        """Several signed envelopes from one peer, one per line, each checked and handled on
        its own, in order; the answer gives each one's status as ``/v1/messages`` would."""
        raw = await _bounded_body(request, MAX_MESSAGE * BATCH_MESSAGES)
        lines = [line for line in raw.split(b"\n") if line.strip()]
        if len(lines) > BATCH_MESSAGES:
            raise WireError(413, f"more than {BATCH_MESSAGES} messages in one batch")
        rt = runtime(request)
        results: list[dict[str, Any]] = []
        for line in lines:
            status, answer = await receive_envelope(rt, line)
            results.append({"status": status, **answer})
        return {"results": results}

    @app.get("/v1/health", tags=["peers"])
    async def health(request: Request) -> dict[str, Any]:
        rt = runtime(request)
        return {"tenant": rt.me, "replayed": rt.replayed, "epoch": rt.epoch(),
                "public_key": rt.key.public_b64}

    # --- the local Jobber client and sensors -----------------------------------------------

    @app.post("/v1/local/connect", dependencies=client, tags=["local"])
    async def connect(body: ConnectBody, request: Request) -> JSONResponse:
        """One introduction attempt through ``path`` (empty: the provider)."""
        rt = runtime(request)
        timeout = body.timeout or rt.settings.timeout * (len(body.path) + 2)
        outcome = await rt.connect(TenantId(body.target), tuple(TenantId(t) for t in body.path),
                                   Mode(body.mode), timeout)
        if outcome is None:
            return JSONResponse({"error": "no answer in time", "timeout": timeout}, 504)
        conn = rt.ledger.connections.get(outcome.connection)
        return JSONResponse({
            "connection": outcome.connection or None,
            "status": outcome.status.name if outcome.status is not None else None,
            "decision": outcome.decision.value,  # INSPECT for a throttle, DENY for a refusal
            "by_provider": outcome.by_provider,
            "expires": rt.wall(conn.expires) if conn is not None else None,
            "path": list(conn.path) if conn is not None else list(body.path),
            "reason": outcome.reason,
        })

    @app.post("/v1/local/observe", dependencies=client, tags=["local"])
    async def observe(body: ObserveBody, request: Request) -> dict[str, Any]:
        """Feedback on one interaction, from this tenant's sensors (durable when answered)."""
        try:
            await runtime(request).submit(Observe(
                ConnectionId(body.connection), InteractionId(body.interaction),
                Severity[body.severity]))
        except Refused as exc:
            return {"accepted": False, "reason": str(exc)}
        return {"accepted": True}

    @app.post("/v1/local/interactions", dependencies=client, tags=["local"])
    async def interaction_end(body: InteractionBody, request: Request) -> dict[str, Any]:
        """An interaction on a connection ended (a flow removed, a connection closed): turn what
        the sensors saw of the peer meanwhile into this tenant's one feedback value for it."""
        if body.ended < body.started:
            raise HTTPException(422, "ended before it started")
        rt = runtime(request)
        severity = rt.interaction_feedback(ConnectionId(body.connection), body.started,
                                           body.ended, body.packets)
        if severity is None:
            return {"feedback": None, "reason": "nothing seen: no feedback"}
        try:
            await rt.submit(Observe(ConnectionId(body.connection),
                                    InteractionId(body.interaction), severity))
        except Refused as exc:
            return {"feedback": None, "reason": str(exc)}
        return {"feedback": severity.name}

    @app.post("/v1/sensors/events", tags=["sensors"])
    async def sensor_events(request: Request) -> dict[str, Any]:
        """Standard events from one of this tenant's sensors, as newline-delimited JSON.

        Each sensor has its own token (``sensors.tokens`` in the config)."""
        rt = runtime(request)
        sensor = rt.sensors.sensor_for(request.headers.get("authorization", ""))
        if sensor is None:
            raise HTTPException(401, "missing or unknown sensor token")
        body = await _bounded_body(request, MAX_BATCH)
        result = rt.sensors.ingest(sensor, body)
        rt.count("sensor_events")
        return {"events": result.events, "verdicts": result.verdicts,
                "rejected": result.rejected, "errors": result.errors}

    @app.get("/v1/local/events", dependencies=client, tags=["local"])
    async def events(request: Request) -> StreamingResponse:
        """Decisions as they are taken (server-sent events, one JSON object each)."""
        rt = runtime(request)
        queue: asyncio.Queue[Decided] = asyncio.Queue(maxsize=1000)
        rt.subscribers.add(queue)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": subscribed\n\n"
                while True:
                    try:
                        decided = await asyncio.wait_for(queue.get(), 15.0)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    yield b"data: " + json.dumps(decided.as_json()).encode() + b"\n\n"
            finally:
                rt.subscribers.discard(queue)

        return StreamingResponse(stream(), media_type="text/event-stream")

    operator_routes(app, runtime, admin)
    if settings.is_provider:
        _provider_routes(app, runtime, admin)
    return app


async def receive_envelope(rt: Runtime, raw: bytes) -> tuple[int, dict[str, Any]]:
    """Verify and handle one envelope from a peer: (HTTP status, answer). Every refusal is a 4xx
    with its reason and changes nothing; a store that fails is a 503 (try again)."""
    try:
        message = await rt.receive(raw)
    except WireError as exc:
        rt.count(f"refused_{exc.status}")
        return exc.status, {"error": exc.reason}
    except Refused as exc:
        return 422, {"error": str(exc)}
    except ProtocolError as exc:
        rt.count("refused_400")
        return 400, {"error": str(exc)}
    except StoreError as exc:
        return 503, {"error": f"store unavailable: {exc}"}
    return 202, {"accepted": type(message).__name__}


class FastMessages:
    """ASGI in front of the app: serves ``POST /v1/messages`` — every hop of every introduction
    and every feedback report — without the framework's routing and dependency machinery, and
    hands everything else to the app (docs/decisions.md)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or \
                scope["path"] != "/v1/messages":
            await self.app(scope, receive, send)
            return
        status, answer = await self._answer(scope, receive)
        body = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict[str, Any],
                      receive: Callable[[], Awaitable[Any]]) -> tuple[int, dict[str, Any]]:
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_MESSAGE:
                return 413, {"error": f"body of {value.decode()} bytes exceeds {MAX_MESSAGE}"}
        chunks, size, more = [], 0, True
        while more:
            event = await receive()
            if event["type"] != "http.request":
                return 400, {"error": "the request ended early"}
            chunk = event.get("body", b"")
            size += len(chunk)
            if size > MAX_MESSAGE:
                return 413, {"error": f"body exceeds {MAX_MESSAGE} bytes"}
            chunks.append(chunk)
            more = event.get("more_body", False)
        return await receive_envelope(self.app.state.runtime, b"".join(chunks))


def _provider_routes(app: FastAPI, runtime: Callable[[Request], Runtime],
                     admin: list[Any]) -> None:
    @app.post("/v1/admin/tenants", dependencies=admin, tags=["provider"], status_code=201)
    async def register(body: RegisterBody, request: Request) -> dict[str, str]:
        """Register a tenant's public key and URL (the provider is the root of identity)."""
        rt = runtime(request)
        if body.tenant == PROVIDER:
            raise HTTPException(400, "'provider' is reserved")
        try:
            rt.registry.add(TenantId(body.tenant), body.url, body.public_key)
        except WireError as exc:
            raise HTTPException(400, exc.reason) from None
        record = json.dumps(body.model_dump()).encode()
        await rt.store_call(rt.store.put, "registry", body.tenant, record)
        return {"registered": body.tenant}

    @app.get("/v1/registry", tags=["provider"])
    async def registry_all(request: Request) -> dict[str, list[dict[str, str]]]:
        """Every registered tenant's URL and public key (servers keep a copy)."""
        rt = runtime(request)
        records = [json.loads(raw) for _t, raw in await rt.store_call(rt.store.items,
                                                                      "registry")]
        records.append({"tenant": PROVIDER, "public_key": rt.key.public_b64,
                        "url": rt.settings.url or ""})
        return {"tenants": records}

    @app.get("/v1/registry/{tenant}", tags=["provider"])
    async def registry(tenant: str, request: Request) -> dict[str, str]:
        rt = runtime(request)
        if tenant == PROVIDER:
            return {"tenant": PROVIDER, "public_key": rt.key.public_b64,
                    "url": rt.settings.url or ""}
        raw = await rt.store_call(rt.store.get, "registry", tenant)
        if raw is None:
            raise HTTPException(404, f"tenant {tenant!r} is not registered")
        record: dict[str, str] = json.loads(raw)
        return record

    @app.get("/v1/paths", tags=["provider"])
    async def paths(source: str, target: str, request: Request) -> dict[str, Any]:
        """The k best introduction paths over the directory (unit weights)."""
        rt = runtime(request)
        p = rt.ledger.policy
        found = rt.directory.paths(TenantId(source), TenantId(target), k=p.k,
                                   max_introducers=p.H_max)
        return {"paths": [list(q.introducers) for q in found]}

    @app.get("/v1/admin/directory", dependencies=admin, tags=["provider"])
    async def directory(request: Request) -> dict[str, Any]:
        return {"edges": [list(e) for e in runtime(request).directory.edges()]}


def _load_registry(runtime: Runtime) -> None:
    for tenant, raw in runtime.store.items("registry"):
        record = json.loads(raw)
        runtime.registry.add(TenantId(tenant), record["url"], record["public_key"])


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise WireError(413, f"body of {declared} bytes exceeds {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WireError(413, f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
