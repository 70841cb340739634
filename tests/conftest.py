"""Fixtures over the shared loopback servers in ``tests/servers.py``, and CI strictness.

Locally a test skips, with its reason, when ``../shared/data``, chromium, redis-server or
an optional package is missing. With ``CI`` set (``CI=true``, as CI services set it) a
skip is a failure unless ``ALLOWED_SKIPS`` lists it: a CI run that silently skipped the
real feeds (99 passed, 207 skipped, exit 0) proved nothing. Skips of whole modules at
collection (``importorskip``, module ``skipif``) cannot become test failures, so they are
listed at the end and fail the run's exit status. Skip reasons are always printed in CI
(``-rs``).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.servers import redis_server

#: Skips that are expected even in CI: node id -> the skip reason it must give.
ALLOWED_SKIPS = {
    # The networkx reference is built only for the two small feeds of the four.
    "tests/test_mcraptor.py::test_pareto_rounds_match_networkx_reference[de-db-fv-2026]":
        "the networkx reference is only built for the small feeds",
    "tests/test_mcraptor.py::test_pareto_rounds_match_networkx_reference[de-vpe-pforzheim]":
        "the networkx reference is only built for the small feeds",
}

_STRICT = pytest.StashKey[bool]()
_COLLECTION_SKIPS = pytest.StashKey[list[tuple[str, str]]]()


def in_ci() -> bool:
    """``CI`` set to anything but empty/0/false (GitHub, GitLab, ... set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: ...")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def allowed_skip(nodeid: str, reason: str) -> bool:
    expected = ALLOWED_SKIPS.get(nodeid)
    return expected is not None and expected in reason


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STRICT] = in_ci()
    config.stash[_COLLECTION_SKIPS] = []
    if config.stash[_STRICT]:
        chars = config.option.reportchars or ""
        if "s" not in chars and "a" not in chars and "A" not in chars:
            config.option.reportchars = chars + "s"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                         pytest.TestReport]:
    """In CI, an unexpected skip (setup or call) is reported as a failure, with its reason."""
    report = yield
    if item.config.stash[_STRICT] and report.skipped and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if not allowed_skip(report.nodeid, reason):
            report.outcome = "failed"
            report.longrepr = (
                f"skipped in CI (CI={os.environ.get('CI')!r}): {reason}\n"
                "CI must run every test: provide ../shared/data, chromium (make browser) "
                "and the test extras, or list an expected skip in ALLOWED_SKIPS "
                "(tests/conftest.py) with its reason")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[
        None, pytest.CollectReport, pytest.CollectReport]:
    """Remembers modules skipped at collection (they have no test report to fail)."""
    report = yield
    if report.skipped:
        reason = skip_reason(report)
        if not allowed_skip(report.nodeid, reason):
            collector.config.stash[_COLLECTION_SKIPS].append((report.nodeid, reason))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    skips = config.stash[_COLLECTION_SKIPS]
    if config.stash[_STRICT] and skips:
        terminalreporter.section("modules skipped in CI (a failure)", red=True)
        for nodeid, reason in skips:
            terminalreporter.line(f"{nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI, modules skipped at collection fail the run (after the others have run)."""
    config = session.config
    if config.stash[_STRICT] and config.stash[_COLLECTION_SKIPS] and exitstatus in (
            pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture()
def redis_url(tmp_path: Path) -> Iterator[str]:
    """URL of a fresh redis-server for this test (skips if none is installed)."""
    with redis_server(tmp_path) as (_, url, _client):
        yield url
