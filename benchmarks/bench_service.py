"""Load benchmark of the HTTP gateway on loopback: QPS, p50 and p99 at 1, 8 and 32 concurrent clients,
for cache misses and cache hits, and the hit/miss p50 ratio; then a run with a tiny queue that must
answer 429 (with Retry-After) instead of letting requests time out.

It starts ``thinkir serve`` itself on 127.0.0.1 (a free port) unless ``--url`` names a running
server, which must also be on loopback. Every level is bounded by a request count and a time limit.

    python benchmarks/bench_service.py --index /work/indexes/scifact-minilm \\
        --queries ../shared/data/scifact/queries.jsonl --redis-url redis://127.0.0.1:6379/0

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class LevelResult:
    phase: str
    clients: int
    latencies_ms: list[float] = field(default_factory=list)
    status: dict[int, int] = field(default_factory=dict)
    timeouts: int = 0
    errors: int = 0
    retry_after: set[str] = field(default_factory=set)
    wall_s: float = 0.0

    @property
    def ok(self) -> int:
        return self.status.get(200, 0)

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    def summary(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "clients": self.clients,
            "requests": sum(self.status.values()) + self.timeouts + self.errors,
            "ok": self.ok,
            "status": {str(k): v for k, v in sorted(self.status.items())},
            "timeouts": self.timeouts,
            "errors": self.errors,
            "qps": round(self.ok / self.wall_s, 1) if self.wall_s else 0.0,
            "p50_ms": round(self.pct(0.50), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_queries(path: Path | None, n: int) -> list[str]:
    texts: list[str] = []
    if path is not None and path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    if not texts:
        texts = [f"effect of treatment {i} on disease outcome" for i in range(n)]
    return texts


def start_server(index: Path, port: int, extra_env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **extra_env}
    # the server inherits this process's priority (run the whole benchmark under `nice` on shared hosts)
    cmd = [
        sys.executable,
        "-m",
        "thinkir",
        "serve",
        "--index",
        str(index),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode}")
        try:
            r = httpx.get(f"{url}/ready", timeout=2)
            if r.status_code == 200:
                return dict(r.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not become ready")


async def run_level(
    url: str,
    phase: str,
    clients: int,
    texts: list[str],
    max_requests: int,
    max_s: float,
    body: dict[str, Any],
    timeout_s: float,
    headers: dict[str, str],
) -> LevelResult:
    """``clients`` workers share a budget of ``max_requests`` (and ``max_s``); each takes the next text."""
    result = LevelResult(phase, clients)
    cursor = 0
    deadline = time.monotonic() + max_s
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=url, timeout=timeout_s, limits=limits, headers=headers) as client:

        async def worker() -> None:
            nonlocal cursor
            # one untimed call per client opens its connection, so the timings measure requests only
            try:
                await client.get("/health")
            except httpx.HTTPError:
                result.errors += 1
                return
            while cursor < max_requests and time.monotonic() < deadline:
                text = texts[cursor % len(texts)]
                cursor += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/search", json={**body, "query": text})
                except httpx.TimeoutException:
                    result.timeouts += 1
                    continue
                except httpx.HTTPError:
                    result.errors += 1
                    continue
                elapsed = (time.perf_counter() - t0) * 1000
                result.status[r.status_code] = result.status.get(r.status_code, 0) + 1
                if r.status_code == 200:
                    result.latencies_ms.append(elapsed)
                elif "retry-after" in r.headers:
                    result.retry_after.add(r.headers["retry-after"])

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        result.wall_s = time.perf_counter() - start
    return result


def cache_counters(url: str) -> dict[str, float]:
    """Search-cache hits and misses and cache errors so far, from the server's /metrics."""
    out = {"search_hit": 0.0, "search_miss": 0.0, "errors": 0.0}
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return out
    for line in text.splitlines():
        if line.startswith('thinkir_cache_requests_total{kind="search",outcome="hit"}'):
            out["search_hit"] = float(line.split()[-1])
        elif line.startswith('thinkir_cache_requests_total{kind="search",outcome="miss"}'):
            out["search_miss"] = float(line.split()[-1])
        elif line.startswith("thinkir_cache_errors_total{"):
            out["errors"] += float(line.split()[-1])
    return out


def print_row(s: dict[str, Any]) -> None:
    print(
        f"{s['phase']:>6} {s['clients']:>3} clients  n={s['requests']:>5}  ok={s['ok']:>5}  "
        f"status={s['status']}  timeouts={s['timeouts']}  qps={s['qps']:>7}  "
        f"p50={s['p50_ms']:>8} ms  p99={s['p99_ms']:>8} ms",
        flush=True,
    )


async def bench(args: argparse.Namespace, url: str, queries: list[str]) -> dict[str, Any]:
    body = {"k": args.k, "mode": args.mode, "rerank": args.rerank}
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    hot = queries[: args.hot_queries]
    # warm the hit set (and the server) once; misses use texts never sent before (tagged with run + level)
    await run_level(url, "warm", 4, hot, len(hot), 600, body, args.timeout, headers)
    out: dict[str, Any] = {"levels": [], "ratios": {}}
    run_tag = uuid.uuid4().hex[:6]
    for clients in args.clients:
        n = args.requests
        max_s = args.duration_32 if clients >= 32 and args.duration_32 else args.max_seconds
        budget = n if not (clients >= 32 and args.duration_32) else 10**9
        fresh = [f"{q} [{run_tag}-{clients}-{i}]" for i, q in enumerate(queries)]
        fresh += [f"{q} [{run_tag}-{clients}-b{i}]" for i, q in enumerate(queries * 20)]
        before = cache_counters(url)
        miss = await run_level(url, "miss", clients, fresh, budget, max_s, body, args.timeout, headers)
        middle = cache_counters(url)
        hit = await run_level(
            url, "hit", clients, hot, max(n, 50), min(max_s, args.max_seconds), body, args.timeout, headers
        )
        after = cache_counters(url)
        for res, (a, b) in ((miss, (before, middle)), (hit, (middle, after))):
            s = res.summary()
            s["server_cache"] = {k: b[k] - a[k] for k in a}
            print_row(s)
            print(f"      server cache during this phase: {s['server_cache']}", flush=True)
            out["levels"].append(s)
        ratio = miss.pct(0.5) / hit.pct(0.5) if hit.latencies_ms and miss.latencies_ms else float("nan")
        out["ratios"][str(clients)] = round(ratio, 1)
        print(f"   hit/miss p50 speed-up at {clients} clients: {ratio:.1f}x", flush=True)
    return out


async def shed(args: argparse.Namespace, url: str, queries: list[str]) -> dict[str, Any]:
    body = {"k": args.k, "mode": args.mode, "rerank": args.rerank}
    tag = uuid.uuid4().hex[:6]
    fresh = [f"{q} [shed-{tag}-{i}]" for i, q in enumerate(queries * 5)]
    res = await run_level(url, "shed", 32, fresh, args.requests, args.max_seconds, body, args.timeout, {})
    s = res.summary()
    s["retry_after_values"] = sorted(res.retry_after)
    print_row(s)
    print(
        f"   small queue: {s['status'].get('429', 0)} answered 429 (Retry-After {s['retry_after_values']}), "
        f"{s['timeouts']} timeouts, {s['errors']} connection errors",
        flush=True,
    )
    return s


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--index", type=Path, help="index directory (starts a server)")
    p.add_argument("--url", help="a running server on loopback instead of --index")
    p.add_argument("--queries", type=Path, default=Path("../shared/data/scifact/queries.jsonl"))
    p.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8, 32])
    p.add_argument("--requests", type=int, default=300, help="requests per level and phase")
    p.add_argument("--max-seconds", type=float, default=30.0, help="time limit per level and phase")
    p.add_argument(
        "--duration-32",
        type=float,
        default=0.0,
        help="run the 32-client miss level for this many seconds instead of --requests",
    )
    p.add_argument("--hot-queries", type=int, default=50)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--mode", default="dense")
    p.add_argument("--rerank", default="none")
    p.add_argument("--timeout", type=float, default=30.0, help="client timeout per request (s)")
    p.add_argument("--redis-url", default=None, help="cache in this Redis (a fresh namespace per run)")
    p.add_argument("--api-key", default=None)
    p.add_argument("--skip-shed", action="store_true", help="skip the small-queue run")
    p.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    p.add_argument("--inference-threads", default="1", help="THINKIR_INFERENCE_THREADS of the server")
    args = p.parse_args()

    queries = load_queries(args.queries, 500)
    report: dict[str, Any] = {"bench": "service", "mode": args.mode, "rerank": args.rerank, "k": args.k}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        if args.url:
            host = urllib.parse.urlparse(args.url).hostname
            if host not in LOOPBACK:
                raise SystemExit("--url must point at 127.0.0.1: load tests run on loopback only")
            url, proc = args.url.rstrip("/"), None
        else:
            if args.index is None:
                raise SystemExit("pass --index DIR or --url http://127.0.0.1:PORT")
            env = {
                "THINKIR_CACHE_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
                "THINKIR_QUEUE_SIZE": "256",
                "THINKIR_INFERENCE_THREADS": args.inference_threads,
            }
            if args.redis_url:
                env["THINKIR_REDIS_URL"] = args.redis_url
            port = free_port()
            proc = start_server(args.index, port, env, args.log_dir / "bench_service_server.log")
            procs.append(proc)
            url = f"http://127.0.0.1:{port}"
        report["ready"] = wait_ready(url, proc)
        print(f"server ready at {url}: {report['ready']}", flush=True)
        report.update(asyncio.run(bench(args, url, queries)))
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

        if not args.skip_shed and args.index is not None:
            port = free_port()
            env = {
                "THINKIR_MAX_CONCURRENCY": "1",
                "THINKIR_QUEUE_SIZE": "2",
                "THINKIR_QUEUE_TIMEOUT_S": "20",
                "THINKIR_CACHE_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
                "THINKIR_INFERENCE_THREADS": args.inference_threads,
            }
            shed_proc = start_server(args.index, port, env, args.log_dir / "bench_service_shed.log")
            procs.append(shed_proc)
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, shed_proc)
            print("small queue (max_concurrency=1, queue_size=2), 32 clients, cache misses:", flush=True)
            report["shed"] = asyncio.run(shed(args, url, queries))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
