"""The CI strictness of ``tests/conftest.py``, on tiny suites run by ``pytester``.

With ``CI=true`` a missing ``../shared/data`` or browser must fail the run instead of
skipping it green; only the skips listed in ``ALLOWED_SKIPS`` (with their reason) stay
skips. Without ``CI`` the same suite skips, as on a laptop without the shared data.
"""

from __future__ import annotations

import pytest

from tests.conftest import ALLOWED_SKIPS, in_ci

pytest_plugins = ("pytester",)

ALLOWED_ID = next(iter(ALLOWED_SKIPS))
ALLOWED_FUNCTION = ALLOWED_ID.split("::")[1].split("[")[0]
ALLOWED_PARAM = ALLOWED_ID.split("[")[1].rstrip("]")

#: A suite like ours: one test passes, one skips because the shared data is absent, one
#: because chromium is absent, an allowed skip, the same test skipping for another reason,
#: and an expected failure (xfail is no skip).
SUITE = f'''
import pytest

def test_passes():
    assert True

def test_needs_shared_data():
    pytest.skip("shared data not available: /nowhere/shared/data/x.zip")

@pytest.mark.skipif(True, reason="/usr/bin/chromium missing (make browser)")
def test_needs_a_browser():
    pass

@pytest.mark.parametrize("name", [{ALLOWED_PARAM!r}, "other-feed"])
def {ALLOWED_FUNCTION}(name):
    if name == {ALLOWED_PARAM!r}:
        pytest.skip({ALLOWED_SKIPS[ALLOWED_ID]!r})
    pytest.skip("some reason nobody allowed")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    assert False
'''
MODULE_SKIP = '''
import pytest
pytest.importorskip("no_such_module_for_owl_tests", reason="optional package missing")

def test_never_runs():
    pass
'''


@pytest.fixture()
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """The suite at the allow-listed module's path, so its node ids match ALLOWED_SKIPS."""
    path = ALLOWED_ID.split("::")[0]
    target = pytester.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(SUITE)
    return pytester


def run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest("-p", "tests.conftest", "-p", "no:cacheprovider")


def test_ci_turns_missing_shared_data_and_browser_skips_into_failures(
        suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    result = run(suite)
    # a skipif mark skips in setup: failing there is reported as an error
    result.assert_outcomes(passed=1, failed=2, errors=1, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for line in ("FAILED *::test_needs_shared_data - skipped in CI*shared data not available*",
                 "ERROR *::test_needs_a_browser - skipped in CI*/usr/bin/chromium missing*",
                 "FAILED *[[]other-feed] - skipped in CI*some reason nobody allowed*"):
        result.stdout.fnmatch_lines([line])
    # -rs is on in CI: the allowed skip is listed with its reason
    result.stdout.fnmatch_lines([f"SKIPPED*{ALLOWED_SKIPS[ALLOWED_ID]}*"])


def test_without_ci_the_same_suite_skips_and_passes(
        suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = run(suite)
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_ci_fails_the_run_for_a_module_skipped_at_collection(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """``importorskip`` at module level skips before any test exists: no test fails, so
    the exit status does, and the summary names the module and the reason."""
    pytester.makepyfile(test_module_skip=MODULE_SKIP, test_fine="def test_ok():\n    pass\n")
    monkeypatch.setenv("CI", "true")
    result = run(pytester)
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*modules skipped in CI*",
                                 "test_module_skip.py: optional package missing"])
    monkeypatch.setenv("CI", "false")
    assert run(pytester).ret == pytest.ExitCode.OK


@pytest.mark.parametrize(("value", "strict"), [
    ("true", True), ("1", True), ("True", True), ("yes", True),
    ("", False), ("0", False), ("false", False), ("no", False), (None, False)])
def test_ci_variable_values(monkeypatch: pytest.MonkeyPatch, value: str | None,
                            strict: bool) -> None:
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is strict


def test_allowed_skips_name_existing_tests() -> None:
    """An allow-list entry for a renamed test would silently allow nothing (and hide that
    the test it meant is gone)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for nodeid, reason in ALLOWED_SKIPS.items():
        path, rest = nodeid.split("::", 1)
        source = (root / path).read_text()
        assert f"def {rest.split('[')[0]}(" in source, nodeid
        assert reason in source, (nodeid, reason)
