"""RPC layer: behaviour tests shared by every transport, run here on ``inproc://``.

:class:`RPCBehaviour` is reused by ``test_rpc_rabbit.py`` for RabbitMQ: a subclass
only provides the ``transports`` fixture (a factory of transports that reach each
other) and may clean up broker entities.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tinystack.common.rpc import (
    Dispatcher,
    IncomingMessage,
    InvalidTarget,
    MessagingTimeout,
    NoSuchMethod,
    RemoteError,
    RPCClient,
    RPCError,
    RPCServer,
    Target,
    Transport,
    UnsupportedVersion,
    get_transport,
    version_is_compatible,
)
from tinystack.common.rpc.inproc import InProcTransport

TransportFactory = Callable[[], Transport]
WAIT = 2.0  # seconds to wait for something asynchronous that should be quick


class Recorder:
    """Endpoint recording what it ran and where."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.event = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def echo(self, ctxt: dict[str, Any], value: Any) -> Any:
        return value

    def add(self, ctxt: dict[str, Any], a: int, b: int = 0) -> int:
        return a + b

    def whoami(self, ctxt: dict[str, Any]) -> str:
        return self.name

    def get_ctxt(self, ctxt: dict[str, Any]) -> dict[str, Any]:
        return ctxt

    def record(self, ctxt: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append(("record", kwargs))
        self.threads.append(threading.current_thread().name)
        self.event.set()

    def block(self, ctxt: dict[str, Any], seconds: float = WAIT) -> str:
        self.release.wait(seconds)
        self.event.set()
        return "released"

    def slow_echo(self, ctxt: dict[str, Any], value: Any, seconds: float) -> Any:
        time.sleep(seconds)
        return value

    def fail(self, ctxt: dict[str, Any], message: str) -> None:
        raise ValueError(message)

    def unserializable(self, ctxt: dict[str, Any]) -> object:
        return object()

    def _private(self, ctxt: dict[str, Any]) -> str:
        return "secret"


class V1:
    target = Target("", version="1.3")

    def ping(self, ctxt: dict[str, Any]) -> str:
        return "v1"

    def only_v1(self, ctxt: dict[str, Any]) -> str:
        return "only-v1"


class V2:
    target = Target("", version="2.1")

    def ping(self, ctxt: dict[str, Any]) -> str:
        return "v2"


class Unversioned:
    def legacy(self, ctxt: dict[str, Any]) -> str:
        return "legacy"


class RPCBehaviour:
    """Behaviour every transport must have. Subclasses provide ``transports``."""

    @pytest.fixture
    def transports(self) -> Iterator[TransportFactory]:
        raise NotImplementedError

    def cleanup_broker(self, topic: str, servers: list[str]) -> None:
        """Delete what the test left on a broker (nothing for in-process transports)."""

    @pytest.fixture(autouse=True)
    def no_thread_leak(self) -> Iterator[None]:
        before = set(threading.enumerate())
        yield
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
            if not leaked:
                return
            time.sleep(0.02)
        pytest.fail(f"threads left running: {leaked}")

    @pytest.fixture
    def topic(self) -> str:
        return f"test_{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def env(self, transports: TransportFactory, topic: str) -> Iterator[Env]:
        env = Env(transports, topic)
        try:
            yield env
        finally:
            env.close()
            self.cleanup_broker(topic, env.server_names)

    def test_call_returns_value(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        client = env.client()
        assert client.call({}, "echo", value=42) == 42
        value = {"a": [1, 2, {"b": None}], "c": "ü", "d": 1.5, "e": True}
        assert client.call({}, "echo", value=value) == value
        assert client.call({}, "whoami") == "s1"

    def test_call_with_kwargs_and_context(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        client = env.client()
        assert client.call({}, "add", a=2, b=3) == 5
        assert client.call({}, "add", a=2) == 2
        ctxt = {"request_id": "req-1", "roles": ["admin"]}
        assert client.call(ctxt, "get_ctxt") == ctxt
        with pytest.raises(RemoteError) as info:
            client.call({}, "add", b=1)  # missing argument
        assert info.value.exc_type == "TypeError"

    def test_cast_runs_asynchronously(self, env: Env) -> None:
        endpoint = Recorder("s1")
        env.serve("s1", endpoint)
        client = env.client()
        caller = threading.current_thread().name
        client.cast({}, "block")  # returns although the endpoint blocks
        assert not endpoint.event.is_set()
        endpoint.release.set()
        assert endpoint.event.wait(WAIT)
        client.cast({}, "record", x=1)
        assert _wait_for(lambda: ("record", {"x": 1}) in endpoint.calls)
        assert endpoint.threads and caller not in endpoint.threads

    def test_fanout_cast_reaches_every_server(self, env: Env) -> None:
        endpoints = [Recorder(f"s{i}") for i in range(3)]
        for endpoint in endpoints:
            env.serve(endpoint.name, endpoint)
        env.client().prepare(fanout=True).cast({}, "record", n=7)
        for endpoint in endpoints:
            assert endpoint.event.wait(WAIT), endpoint.name
            assert endpoint.calls == [("record", {"n": 7})]

    def test_call_to_server_reaches_only_that_server(self, env: Env) -> None:
        s1, s2 = Recorder("s1"), Recorder("s2")
        env.serve("s1", s1)
        env.serve("s2", s2)
        client = env.client().prepare(server="s2")
        assert [client.call({}, "whoami") for _ in range(6)] == ["s2"] * 6
        client.cast({}, "record")
        assert s2.event.wait(WAIT)
        time.sleep(0.1)
        assert not s1.calls

    def test_round_robin_between_servers_of_a_topic(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        env.serve("s2", Recorder("s2"))
        client = env.client()
        answers = [client.call({}, "whoami") for _ in range(10)]
        assert answers.count("s1") >= 3 and answers.count("s2") >= 3, answers

    def test_remote_exception_becomes_remote_error(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        with pytest.raises(RemoteError) as info:
            env.client().call({}, "fail", message="bad value")
        error = info.value
        assert error.exc_type == "ValueError"
        assert error.message == "bad value"
        assert "ValueError: bad value" in error.traceback
        assert "ValueError" in str(error)

    def test_unknown_method(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        client = env.client()
        for method in ("no_such_method", "_private", "__init__"):
            with pytest.raises(NoSuchMethod) as info:
                client.call({}, method)
            assert isinstance(info.value, RemoteError)
            assert info.value.exc_type == "NoSuchMethod"
            assert info.value.method == method

    def test_unserializable_values(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        client = env.client()
        with pytest.raises(RemoteError) as info:
            client.call({}, "unserializable")
        assert info.value.exc_type == "TypeError"
        with pytest.raises(TypeError):
            client.call({}, "echo", value=object())
        assert client.call({}, "echo", value=1) == 1  # transport still usable

    def test_call_timeout(self, env: Env) -> None:
        endpoint = Recorder("s1")
        env.serve("s1", endpoint)
        client = env.client(timeout=0.5)
        start = time.monotonic()
        with pytest.raises(MessagingTimeout):
            client.call({}, "block")
        elapsed = time.monotonic() - start
        assert 0.45 <= elapsed < 1.5, elapsed
        endpoint.release.set()
        assert client.prepare(timeout=WAIT).call({}, "add", a=1) == 1

    def test_call_timeout_without_server(self, env: Env) -> None:
        client = env.client(timeout=0.3)
        start = time.monotonic()
        with pytest.raises(MessagingTimeout):
            client.call({}, "echo", value=1)
        assert time.monotonic() - start < 1.3

    def test_version_negotiation(self, env: Env) -> None:
        env.serve("s1", V1(), V2(), Unversioned())
        client = env.client()
        assert client.call({}, "ping") == "v1"  # default 1.0
        assert client.prepare(version="1.3").call({}, "ping") == "v1"
        assert client.prepare(version="2.0").call({}, "ping") == "v2"
        assert client.prepare(version="2.1").call({}, "ping") == "v2"
        assert client.call({}, "legacy") == "legacy"
        for version, method in [
            ("1.4", "ping"),
            ("2.2", "ping"),
            ("3.0", "ping"),
            ("2.0", "only_v1"),
            ("1.1", "legacy"),
        ]:
            with pytest.raises(UnsupportedVersion) as info:
                client.prepare(version=version).call({}, method)
            assert info.value.version == version
            assert isinstance(info.value, RemoteError)

    def test_first_endpoint_with_the_method_wins(self, env: Env) -> None:
        env.serve("s1", Recorder("first"), Recorder("second"))
        assert env.client().call({}, "whoami") == "first"

    def test_concurrent_calls_get_their_own_replies(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"), executor_threads=8)
        client = env.client()
        results: dict[int, Any] = {}

        def worker(i: int) -> None:
            results[i] = client.call({}, "slow_echo", value=i, seconds=0.05 + (i % 3) * 0.01)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert results == {i: i for i in range(16)}
        assert time.monotonic() - start < 1.0  # ran in parallel

    def test_fanout_call_is_rejected(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        with pytest.raises(InvalidTarget):
            env.client().prepare(fanout=True).call({}, "whoami")

    def test_stopped_server_takes_no_more_messages(self, env: Env) -> None:
        endpoint = Recorder("s1")
        server = env.serve("s1", endpoint)
        server.stop()
        server.wait()
        env.client().cast({}, "record")
        assert not endpoint.event.wait(0.2)
        assert not server.running


class Env:
    """Servers and clients of one test, on transports from one factory."""

    def __init__(self, transports: TransportFactory, topic: str) -> None:
        self.transports = transports
        self.topic = topic
        self.servers: list[RPCServer] = []
        self.server_names: list[str] = []
        self._client_transport: Transport | None = None

    def serve(self, name: str, *endpoints: object, executor_threads: int = 4) -> RPCServer:
        """Start a server on a transport of its own, as if in another process."""
        server = RPCServer(
            self.transports(), Target(self.topic, server=name), list(endpoints), executor_threads
        )
        server.start()
        self.servers.append(server)
        self.server_names.append(name)
        return server

    def client(self, timeout: float = WAIT) -> RPCClient:
        if self._client_transport is None:
            self._client_transport = self.transports()
        return RPCClient(self._client_transport, Target(self.topic), timeout=timeout)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()
            server.transport.close()
        if self._client_transport is not None:
            self._client_transport.close()


def _wait_for(predicate: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


class TestInProc(RPCBehaviour):
    @pytest.fixture
    def transports(self) -> Iterator[TransportFactory]:
        url = f"inproc://{uuid.uuid4().hex}"
        yield lambda: get_transport(url)

    def test_arguments_are_copied(self, env: Env) -> None:
        class Mutator:
            def mutate(self, ctxt: dict[str, Any], items: list[int]) -> list[int]:
                items.append(99)
                ctxt["touched"] = True
                return items

        env.serve("s1", Mutator())
        items, ctxt = [1], {"a": 1}
        assert env.client().call(ctxt, "mutate", items=items) == [1, 99]
        assert items == [1] and ctxt == {"a": 1}

    def test_call_waits_for_a_server_to_start(self, env: Env) -> None:
        client = env.client()
        timer = threading.Timer(0.2, env.serve, args=("late", Recorder("late")))
        timer.start()
        try:
            assert client.call({}, "whoami") == "late"
        finally:
            timer.join()

    def test_transports_with_other_names_are_isolated(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        with get_transport(f"inproc://{uuid.uuid4().hex}") as other:
            with pytest.raises(MessagingTimeout):
                RPCClient(other, Target(env.topic), timeout=0.1).call({}, "whoami")
        mine = env.transports()
        assert isinstance(mine, InProcTransport)
        with mine, get_transport(f"inproc://{mine.name}", control_exchange="x") as other:
            with pytest.raises(MessagingTimeout):
                RPCClient(other, Target(env.topic), timeout=0.1).call({}, "whoami")
            assert RPCClient(mine, Target(env.topic)).call({}, "whoami") == "s1"

    def test_closed_transport_refuses_messages(self, env: Env) -> None:
        transport = env.transports()
        transport.close()
        with pytest.raises(RPCError):
            RPCClient(transport, Target(env.topic)).cast({}, "record")


def test_target_validation() -> None:
    assert Target("t") == Target("t", None, False, "1.0")
    with pytest.raises(ValueError):
        Target("t", version="one")
    with pytest.raises(ValueError):
        RPCClient(InProcTransport(), Target(""))
    with pytest.raises(ValueError):
        RPCClient(InProcTransport(), Target("t")).prepare(version="x.y")
    with pytest.raises(ValueError):
        RPCServer(InProcTransport(), Target("t", fanout=True), [])


def test_prepare_overrides_only_what_is_given() -> None:
    client = RPCClient(InProcTransport(), Target("t", server="a", version="1.2"), timeout=5)
    prepared = client.prepare(fanout=True, timeout=1)
    assert prepared.target == Target("t", server="a", fanout=True, version="1.2")
    assert prepared.timeout == 1
    assert client.target == Target("t", server="a", version="1.2") and client.timeout == 5


@pytest.mark.parametrize(
    ("available", "requested", "ok"),
    [
        ("1.0", "1.0", True),
        ("1.3", "1.2", True),
        ("1.3", "1.4", False),
        ("2.0", "1.0", False),
        ("1.0", "2.0", False),
        ("2", "2.0", True),
    ],
)
def test_version_is_compatible(available: str, requested: str, ok: bool) -> None:
    assert version_is_compatible(available, requested) is ok


def test_get_transport_rejects_unknown_schemes() -> None:
    with pytest.raises(ValueError, match="zmq"):
        get_transport("zmq://secret@host/")
    with pytest.raises(TypeError):
        get_transport("inproc://", queue_ttl=1)
    assert isinstance(get_transport("inproc://"), InProcTransport)


def test_dispatcher_without_transport() -> None:
    replies: list[dict[str, Any]] = []
    dispatcher = Dispatcher([Recorder("d")])
    dispatcher.handle(IncomingMessage({}, "add", {"a": 1, "b": 2}, "1.0", replies.append))
    dispatcher.handle(IncomingMessage({}, "nope", {}, "1.0", replies.append))
    dispatcher.handle(IncomingMessage({}, "add", {"a": 1}, "bogus", replies.append))
    assert replies[0] == {"result": 3}
    assert replies[1]["failure"]["rpc_error"] == "NoSuchMethod"
    assert replies[2]["failure"]["rpc_error"] == "UnsupportedVersion"
    with pytest.raises(ValueError):
        IncomingMessage.from_body({"method": "", "args": {}})
