"""The upstream carrier service the shipping-quote endpoint calls: a raw ASGI app with a configurable delay.

It is framework-free on purpose (neither FastAPI nor Flask), so it favours neither side. `POST /_config`
changes the delay or makes it fail at runtime, which the fault tests use.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import httpx

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class StubState:
    """What the stub does now: how long it waits and which status it answers."""

    delay_ms: int = 50
    status: int = 200


def _quote(zip_code: str, price: str) -> dict[str, Any]:
    # Deterministic from the inputs, so both apps receive identical upstream answers.
    digest = int(hashlib.sha256(f"{zip_code}:{price}".encode()).hexdigest()[:8], 16)
    return {
        "carrier": "StubExpress",
        "cost": round(4.99 + (digest % 2000) / 100, 2),
        "eta_days": 1 + digest % 7,
    }


def make_app(state: StubState) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Build the ASGI app answering GET /quote, GET /health and POST /_config."""

    async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        query = {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode()).items()}
        path = scope["path"]
        if path == "/_config" and scope["method"] == "POST":
            state.delay_ms = int(query.get("delay_ms", state.delay_ms))
            state.status = int(query.get("status", state.status))
            await _respond(send, 200, {"delay_ms": state.delay_ms, "status": state.status})
        elif path == "/health":
            await _respond(send, 200, {"status": "ok"})
        elif path == "/quote":
            await asyncio.sleep(state.delay_ms / 1000)
            if state.status != 200:
                await _respond(send, state.status, {"error": "carrier failure"})
            else:
                await _respond(send, 200, _quote(query.get("zip", ""), query.get("price", "")))
        else:
            await _respond(send, 404, {"error": "not found"})

    return app


class CarrierStub:
    """Runs the stub in a child process (uvicorn, one worker) for as long as the context is open."""

    def __init__(self, *, port: int, delay_ms: int = 50, cpus: Sequence[int] | None = None) -> None:
        self.port = port
        self.delay_ms = delay_ms
        self.cpus = cpus
        self.url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the running stub."""
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the stub and wait until it answers."""
        cmd = [
            sys.executable,
            "-m",
            "bench.drive.carrier_stub",
            "--port",
            str(self.port),
            "--delay-ms",
            str(self.delay_ms),
        ]
        cpus = self.cpus
        self._process = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = self._process.stderr.read().decode() if self._process.stderr else ""
                raise RuntimeError(f"carrier stub exited at start on port {self.port}: {err[-500:]}")
            try:
                httpx.get(f"{self.url}/health", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"carrier stub did not answer on port {self.port} within 15 s")

    def configure(self, *, delay_ms: int = 50, status: int = 200) -> None:
        """Change the delay and status of every following /quote answer."""
        httpx.post(f"{self.url}/_config", params={"delay_ms": delay_ms, "status": status}, timeout=5)

    def reset(self) -> None:
        """Back to the delay it was started with and status 200."""
        self.configure(delay_ms=self.delay_ms, status=200)

    def stop(self) -> None:
        """Stop the stub process."""
        from bench.drive.processes import interrupts_deferred

        with interrupts_deferred():
            self._stop()

    def _stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None

    def __enter__(self) -> CarrierStub:
        self.start()
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the stub: python -m bench.drive.carrier_stub --port 8099 --delay-ms 50."""
    parser = argparse.ArgumentParser(prog="python -m bench.drive.carrier_stub", description=__doc__)
    parser.add_argument("--port", type=int, default=8099, help="TCP port on 127.0.0.1 (default 8099)")
    parser.add_argument("--delay-ms", type=int, default=50, help="delay before each quote (default 50)")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be 1..65535, got {args.port}")
    if args.delay_ms < 0:
        parser.error(f"--delay-ms must be >= 0, got {args.delay_ms}")
    import uvicorn

    uvicorn.run(
        make_app(StubState(delay_ms=args.delay_ms)),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        backlog=4096,
    )


if __name__ == "__main__":
    main()
