"""The mutation script itself (``tests/mutate.py``), on a tiny project in a temp dir.

The real list runs for minutes (``make mutate``); here only that it stays in step with
the code, refuses a list that is not, and reports killed, survived and broken mutants
of a two-function project correctly, without touching the project.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.mutate import MUTATIONS, ROOT, TESTS, Mutation, MutationListError, check, main

CALC = "def add(a, b):\n    return a + b\n\n\ndef half(x):\n    return x / 2\n"
TEST = "from pkg.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
MAP = {"pkg/*": ("tests/test_calc.py",)}


@pytest.fixture(autouse=True)
def _bare_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs in the copy inherit the environment: no plugins, ~3 s less per run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text(CALC)
    (root / "tests" / "test_calc.py").write_text(TEST)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    return root


def test_every_mutation_of_the_list_applies_to_the_code() -> None:
    check(MUTATIONS, ROOT, TESTS)  # raises, naming the entries, when the code moved on


def test_a_mutation_whose_text_is_gone_is_refused_before_anything_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    gone = Mutation("gone", "pkg/calc.py", "return a * b", "return a / b", "not there")
    twice = Mutation("twice", "pkg/calc.py", "return", "yield", "ambiguous")
    with pytest.raises(MutationListError, match=r"gone \(pkg/calc.py\): original text "
                                                r"not found") as err:
        check([gone, twice], root, MAP)
    assert "twice (pkg/calc.py): original text found 2 times" in str(err.value)
    assert main([], mutations=[gone], mapping=MAP, root=root) == 2
    assert "gone (pkg/calc.py): original text not found" in capsys.readouterr().err


def test_mutants_are_reported_killed_survived_or_broken_and_the_project_is_untouched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    mutations = [
        Mutation("plus-minus", "pkg/calc.py", "a + b", "a - b", "caught by test_add"),
        Mutation("half-third", "pkg/calc.py", "x / 2", "x / 3", "no test calls half"),
        Mutation("syntax", "pkg/calc.py", "a + b", "a +", "does not import"),
    ]
    assert main([], mutations=mutations, mapping=MAP, root=root) == 1  # one survived
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[2] for line in out.splitlines()
            if line.split() and line.split()[0] in {m.name for m in mutations}}
    assert rows == {"plus-minus": "killed", "half-third": "survived", "syntax": "broken"}
    assert "tests/test_calc.py::test_add" in out  # the test that killed it
    assert "3 mutants: 1 killed, 1 survived, 1 broken" in out
    assert "SURVIVED half-third: no test calls half" in out
    assert (root / "pkg" / "calc.py").read_text() == CALC
    assert main(["--only", "plus-minus"], mutations=mutations, mapping=MAP, root=root) == 0
