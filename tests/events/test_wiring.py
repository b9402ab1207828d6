from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mercato.app import create_app
from mercato.cli import app as cli
from mercato.config import Settings


@pytest.mark.parametrize("run_jobs", [True, False])
async def test_the_app_runs_timers_unless_told_not_to(
    tmp_path: Path, sqlite_template: Path, run_jobs: bool
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "mercato.db")
    application = create_app(Settings(data_dir=tmp_path, secret_key="k", run_jobs=run_jobs))
    async with application.router.lifespan_context(application):
        runner = application.state.job_runner
        assert (runner is not None and runner.running) is run_jobs
    if runner is not None:
        assert not runner.running


def test_run_jobs_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().run_jobs is True
    monkeypatch.setenv("MERCATO_RUN_JOBS", "false")
    assert Settings().run_jobs is False


def test_the_worker_command_exists() -> None:
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    assert "--interval" in result.output and "--data-dir" in result.output
