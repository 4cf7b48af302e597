"""The production-like stack, started by its one command (`make stack`, scripts/prod-stack.sh).

What must hold: every component answers (health: PostgreSQL, Redis, S3 storage, a worker),
DEBUG is off and TLS is on, static files are served, stored media are private (an unsigned
GET is refused, a signed URL works), and stopping the stack leaves no process behind.
"""

import json
import os
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import start_process_group, stop_process_group

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STACK_PORT, S3_PORT = 18443, 19000
BASE = f"https://127.0.0.1:{STACK_PORT}"
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE  # the stack's certificate is self-signed


def _get(url: str, **kw):
    try:
        return urllib.request.urlopen(url, context=INSECURE, timeout=10, **kw)
    except urllib.error.HTTPError as exc:
        return exc


def _processes_with(marker: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    keep = {"PATH", "HOME", "LANG", "CI", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        STACK_PORT=str(STACK_PORT),
        S3_PORT=str(S3_PORT),
        STACK_DATABASE="creativeadmin_stacktest",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/2",  # not the integration worker's database
        CACHE_URL="redis://127.0.0.1:6379/4",
        AWS_STORAGE_BUCKET_NAME="stacktest-media",
        WEB_WORKERS="2",
        WORKER_CONCURRENCY="1",
    )
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    proc = start_process_group(["bash", "scripts/prod-stack.sh"], env=env, log=log)
    try:
        deadline = time.monotonic() + 240
        body = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"the stack exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                body = json.load(_get(f"{BASE}/api/v1/health/"))
                if body.get("ok"):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(1)
        else:
            pytest.fail(f"the stack was not healthy within 240 s (last: {body}):\n{log.read_text()[-4000:]}")
        yield {"proc": proc, "health": body, "log": log}
    finally:
        stop_process_group(proc, timeout=40)


def test_every_component_answers(stack):
    checks = stack["health"]["checks"]
    assert checks["database"] == {"ok": True, "detail": "postgresql"}
    assert checks["broker"] == {"ok": True, "detail": "reachable"}
    assert checks["storage"] == {"ok": True, "detail": "s3"}
    assert checks["workers"]["ok"] and checks["workers"]["detail"].startswith("1 answering: stack-worker@")


def test_production_settings_tls_and_static_files(stack):
    missing = _get(f"{BASE}/no-such-page/")
    assert missing.status == 404
    assert b"Django tried these URL patterns" not in missing.read(), "DEBUG must be off"
    page = _get(f"{BASE}/")
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    css = _get(f"{BASE}/static/site.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")


def test_stored_media_are_private(stack):
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{S3_PORT}",
        aws_access_key_id="stack",
        aws_secret_access_key="stack-secret",
        region_name="us-east-1",
    )
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="stacktest-media").get("Contents", [])]
    creatives = [k for k in keys if k.startswith("creatives/") and k.endswith(".jpg")]
    assert creatives, f"the demo seed stores creatives in S3 (found {keys[:5]})"
    unsigned = _get(f"http://127.0.0.1:{S3_PORT}/stacktest-media/{creatives[0]}")
    assert unsigned.status == 403
    signed = s3.generate_presigned_url("get_object", Params={"Bucket": "stacktest-media", "Key": creatives[0]})
    assert _get(signed).read()[:3] == b"\xff\xd8\xff"


def test_stopping_the_stack_leaves_no_process(stack):
    proc = stack["proc"]
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=40)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        _processes_with(f"{STACK_PORT}") or _processes_with(f"-p {S3_PORT}") or _processes_with("stack-worker@")
    ):
        time.sleep(0.5)
    assert _processes_with(f"127.0.0.1:{STACK_PORT}") == []
    assert _processes_with(f"-p {S3_PORT}") == []
    assert _processes_with("stack-worker@") == []
