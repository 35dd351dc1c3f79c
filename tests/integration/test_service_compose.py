"""The docker-compose stack: the file validated by ``docker-compose config``, and the same two services
(redis-server, ``thinkir serve``) started as plain processes, wired the way the compose file wires them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from service_helpers import build_tiny_index, free_port, service_env, start_redis, stop

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"

pytestmark = pytest.mark.integration


def _compose_config(*args: str) -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (Debian package docker-compose: apt-get install docker-compose)")
    out = subprocess.run(
        [binary, "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "THINKIR_API_KEYS": "", "THINKIR_CORS_ORIGINS": ""},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _resolved() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(_compose_config("config"))


def test_compose_file_is_valid_and_wires_api_to_a_healthy_redis() -> None:
    cfg = _resolved()
    services = cfg["services"]
    assert {"api", "redis"} <= set(services)
    api, redis = services["api"], services["redis"]
    assert redis["healthcheck"]["test"][-1] == "ping"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/ready" in " ".join(api["healthcheck"]["test"])
    assert api["environment"]["THINKIR_REDIS_URL"] == "redis://redis:6379/0"
    assert api["build"]["target"] == "runtime"
    mounts = {str(v).split(":")[-2] if isinstance(v, str) else v["target"] for v in api["volumes"]}
    assert {"/data/index", "/cache"} <= mounts
    assert "model-cache" in cfg["volumes"]


def test_compose_gpu_profile_adds_a_gpu_api() -> None:
    assert "api-gpu" in _compose_config("--profile", "gpu", "config", "--services").split()
    gpu = _resolved()["services"]["api-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert gpu["environment"]["THINKIR_DEVICE"] == "cuda"


def test_dockerfile_is_multi_stage_and_serves_the_index() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "AS build" in text and "AS runtime" in text and "COPY --from=build" in text
    assert "USER thinkir" in text and "HEALTHCHECK" in text


def _get(url: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server binary not installed")
def test_stack_as_processes(tmp_path: Path) -> None:
    """redis (healthcheck: ping) first; then the api with the compose environment, Redis host mapped to
    loopback; the api's healthcheck (/ready) must pass and the cache must be Redis."""
    yaml = pytest.importorskip("yaml")
    api = yaml.safe_load(COMPOSE.read_text())["x-api"]
    index_dir = build_tiny_index(tmp_path)
    redis_port, api_port = free_port(), free_port()
    redis_proc = start_redis(redis_port, tmp_path)  # returns once PING answers, as service_healthy does
    env = {k: str(v) for k, v in api["environment"].items() if "${" not in str(v)}
    env["THINKIR_REDIS_URL"] = env["THINKIR_REDIS_URL"].replace("redis:6379", f"127.0.0.1:{redis_port}")
    env["THINKIR_CACHE_DIR"] = str(tmp_path / "cache")
    env["HF_HOME"] = str(tmp_path / "hf")
    command = [a.replace("/data/index", str(index_dir)).replace("0.0.0.0", "127.0.0.1") for a in api["command"]]
    command[command.index("--port") + 1] = str(api_port)
    thinkir = [sys.executable, "-m", "thinkir"]
    log = (tmp_path / "api.log").open("w")
    api_proc = subprocess.Popen([*thinkir, *command], env=service_env(**env), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, ready = _get(f"{base}/ready")
                if status == 200:
                    break
            except OSError:
                pass
            assert api_proc.poll() is None, (tmp_path / "api.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "api never became ready"
            time.sleep(0.5)
        assert ready == {"status": "ready", "index": True, "models": True, "cache": "redis: ok"}
        q = {"query": "salt and blood pressure", "k": 3}
        assert _post(f"{base}/v1/search", q)["cached"] is False
        assert _post(f"{base}/v1/search", q)["cached"] is True
        api_proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert api_proc.wait(timeout=30) in (0, -signal.SIGTERM)
        lines = [json.loads(x) for x in (tmp_path / "api.log").read_text().splitlines() if x.startswith("{")]
        assert any(x["message"] == "service stopped" for x in lines)
        access = [x for x in lines if x["logger"] == "thinkir.service.access" and x["route"] == "/v1/search"]
        assert len(access) == 2 and all(x["request_id"] for x in access)
    finally:
        stop(api_proc)
        stop(redis_proc)
        log.close()
