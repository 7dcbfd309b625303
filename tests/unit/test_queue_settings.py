"""CONSENTRY_QUEUE chooses where jobs run; arq needs Redis, and so does `consentry worker`."""

from __future__ import annotations

import pytest

from adapters.bootstrap import bootstrap
from adapters.job_queue import build_job_queue
from adapters.jobs_arq import ArqJobQueue
from adapters.jobs_inprocess import InProcessJobQueue
from adapters.settings import Settings
from api.cli import main
from domain.jobs import VERIFY_IDENTITY, Job

pytestmark = pytest.mark.unit


def test_jobs_run_in_process_by_default_and_arq_needs_redis():
    assert Settings.from_env({}).queue == "inprocess"
    assert Settings.from_env({"CONSENTRY_QUEUE": "arq",
                              "CONSENTRY_REDIS_URL": "redis://h:1/0"}).queue == "arq"
    with pytest.raises(ValueError, match="CONSENTRY_REDIS_URL"):
        Settings.from_env({"CONSENTRY_QUEUE": "arq"})
    with pytest.raises(ValueError, match="CONSENTRY_QUEUE"):
        Settings.from_env({"CONSENTRY_QUEUE": "celery"})


def test_the_queue_follows_the_settings():
    def handle(job: Job, attempt: int) -> None: ...

    def give_up(job: Job, error: BaseException) -> None: ...

    embedded = bootstrap(Settings(store="memory"))
    with_redis = bootstrap(Settings(store="memory", queue="arq", redis_url="redis://h:1/0"))
    try:
        local = build_job_queue(embedded, ({VERIFY_IDENTITY: handle}, give_up))
        assert isinstance(local, InProcessJobQueue)
        assert local.handlers == {VERIFY_IDENTITY: handle}
        assert local.give_up is give_up
        assert isinstance(build_job_queue(with_redis), ArqJobQueue)  # only enqueues
    finally:
        embedded.close()
        with_redis.close()


def test_the_worker_command_needs_redis(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv("CONSENTRY_REDIS_URL", raising=False)
    monkeypatch.setenv("CONSENTRY_STORE", "memory")
    assert main(["worker"]) == 2
    assert "CONSENTRY_REDIS_URL" in capsys.readouterr().err
