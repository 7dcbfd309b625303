"""`consentry demo` against a real `consentry serve` on the embedded default (with the
demonstration's leaking generator on): the server's own worker verifies the demo's members
from videos of real faces with spoken digits, rejects the render with a leaked face, holds
what its checks cannot clear, and the demo's reviewer can then work a case end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import speech_media
from tests.e2e.test_two_api_processes import ROOT, Server, start, stop

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    speech_media.espeak()  # the demo reads the challenge digits aloud
    served = start({"CONSENTRY_DATA_DIR": str(tmp_path / "var"), "CONSENTRY_DEMO_LEAK": "1"},
                   tmp_path / "serve.log")
    try:
        yield served
    finally:
        stop(served)


def demo(server: Server, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--url", server.url, "--wait", "240",
         *args], cwd=ROOT, env={**os.environ, "CONSENTRY_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=900, check=False)


def test_the_demo_leaves_cases_a_reviewer_can_work_end_to_end(server: Server,
                                                               tmp_path: Path):
    ran = demo(server, tmp_path / "var")
    assert ran.returncode == 0, ran.stdout + ran.stderr + server.tail()
    saved = json.loads((tmp_path / "var" / "demo.json").read_text())
    results = {o["step"]: (o["result"], o["detail"]) for o in saved["outcomes"]}
    for step in ("ada verifies (scikit-image's astronaut photo)",
                 "bea verifies (insightface's group photo, face 3)"):
        assert results[step][0] == "verified", results[step]
    leaked = results.pop("generation: bea alone, the generator asked to leak a face")
    assert leaked[0] == "rejected" and leaked[1].startswith("FACE-NOT-OTHERS"), leaked
    # no safety model on the embedded default: every other video waits for a person
    generated = [r for step, r in results.items() if step.startswith("generation:")]
    assert len(generated) == 3
    assert all(r == "held for review" and "SAFETY" in why for r, why in generated), generated
    assert results["cy verifies with ada's face"][0] == "held"
    assert saved["console"] == f"{server.url}/console/"

    reviewer = {"Authorization": f"Bearer {saved['keys']['reviewer']}"}
    cases = httpx.get(f"{server.url}/review/cases", headers=reviewer, timeout=30).json()
    kinds = sorted(c["subject_kind"] for c in cases["items"])
    assert kinds == ["generation"] * 3 + ["identity"], kinds
    case = next(c for c in cases["items"] if c["subject_kind"] == "generation")
    claimed = httpx.post(f"{server.url}/review/cases/{case['id']}/claim", headers=reviewer,
                         timeout=30)
    assert claimed.status_code == 200, claimed.text
    decided = httpx.post(f"{server.url}/review/cases/{case['id']}/decision", headers=reviewer,
                         json={"decision": "approve", "policy_code": "OK-1"}, timeout=30)
    assert decided.status_code == 200, decided.text
    author = next(handle for handle, member_id in saved["member_ids"].items()
                  if member_id == case["subject_owner_id"])
    # approved, it goes back to the worker for its watermark, then to the feed
    deadline, state = time.monotonic() + 120, ""
    while state != "published" and time.monotonic() < deadline:
        state = httpx.get(f"{server.url}/generations/{case['subject_id']}", timeout=30,
                          headers={"Authorization": f"Bearer {saved['keys'][author]}"}
                          ).json()["state"]
        time.sleep(0.2)  # polling the worker, not waiting to assert
    assert state == "published"
    page = httpx.get(f"{server.url}/console/", timeout=30, follow_redirects=True)
    assert page.status_code == 200 and "sign in" in page.text.lower()

    again = demo(server, tmp_path / "var")
    assert again.returncode == 2 and "--again" in again.stderr
