"""Property-based fuzzing of the real CLI entry point: whatever the arguments, the outcome is either
success or exit code 2 with exactly one line on stderr and no traceback (issue #16)."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tailor.testing.toy  # noqa: F401  (registers the toy problem: a search takes a second)
from tailor.cli import main

ODD_TEXT = st.one_of(
    st.sampled_from(["", " ", "-", "--", "0", "-1", "1e309", "nan", "inf", "NaN", "None", "null", "true", "é",
                     "名前", "\u202e", "a" * 300, "../..", "/", "x=y", "{}", "[1]", "\t"]),
    st.text(min_size=0, max_size=12).filter(lambda s: "\x00" not in s),
)
NUMBERS = st.one_of(st.integers(-(10**12), 10**12), st.sampled_from(["abc", "1.5", "", "-0", "1e3", "9" * 40]))
PATH_PARTS = st.lists(st.one_of(st.sampled_from(["a", "file", "é", "s" * 300, "x.db", "..", "sub"]),
                                st.text("abc-_.", min_size=1, max_size=8)), min_size=1, max_size=3)


def _flag_value(tmp: Path) -> st.SearchStrategy[list[str]]:
    def path(parts: list[str]) -> str:
        return str(tmp.joinpath(*parts))

    paths = PATH_PARTS.map(path)
    return st.one_of(
        st.tuples(st.sampled_from(["--budget", "--seed", "--epochs"]), NUMBERS.map(str)).map(list),
        st.tuples(st.just("--workers"), st.sampled_from(["-5", "0", "1", "1000000000000", "x"])).map(list),
        st.tuples(st.just("--tactic"), st.one_of(st.sampled_from(
            ["default", "random", "evolutionary", "linas", "tailor", "random:nsga2", "linas:nope", "evolutionary:"]),
            ODD_TEXT)).map(list),
        st.tuples(st.sampled_from(["--out", "--study"]), paths).map(list),
        st.tuples(st.just("--name"), ODD_TEXT).map(list),
        st.tuples(st.sampled_from(["-o", "-t"]), st.one_of(ODD_TEXT, st.tuples(ODD_TEXT, ODD_TEXT).map("=".join),
                  st.sampled_from(["kappa=2", "kappa=x", "n_init=-3", "neighbours=1e9", "delay_s=1", "k=1"]))
                  ).map(list),
        st.tuples(st.sampled_from(["--table", "--data", "--backend", "--supernet", "--latency-column"]),
                  ODD_TEXT).map(list),
        st.tuples(st.sampled_from(["--bogus", "--budgt", "-x", "--", "--help=no"]), ODD_TEXT).map(list),
    )


def _args(tmp: Path) -> st.SearchStrategy[list[str]]:
    flags = st.lists(_flag_value(tmp), max_size=4).map(lambda xs: [a for x in xs for a in x])
    search = flags.map(lambda f: ["search", "toy", "--tactic", "random", "-o", "n_genes=3", "-o", "k=3",
                                  "--out", str(tmp / "out"), *f])
    study = str(tmp / "study" / "study.db")
    report = st.lists(st.one_of(st.sampled_from(["--name", "--json", "--check"]), ODD_TEXT), max_size=3).map(
        lambda f: ["report", study, *f])
    export = st.lists(st.one_of(st.sampled_from(["--pick", "knee", "0", "--max-latency", "--out", str(tmp / "e"),
                                                 "--no-verify"]), ODD_TEXT), max_size=5).map(
        lambda f: ["export", study, *f])
    anything = st.lists(ODD_TEXT, max_size=3)
    return st.one_of(search, report, export, anything)


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """A small finished study that the generated report / export commands read."""
    out = tmp_path_factory.mktemp("fuzz") / "study"
    with contextlib.redirect_stderr(io.StringIO()):
        assert main(["search", "toy", "--tactic", "random", "--budget", "5", "-o", "n_genes=3", "-o", "k=3",
                     "--out", str(out)]) == 0
    return out


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cli_outcome_is_success_or_one_line_exit_2(study_dir, data, monkeypatch):
    tmp = Path(tempfile.mkdtemp(prefix="tailor-fuzz-"))
    monkeypatch.chdir(tmp)  # a relative file a case names (e.g. `--json --check`) lands here, not in the checkout
    try:
        shutil.copytree(study_dir, tmp / "study")  # each case may change or damage its own copy
        args = data.draw(_args(tmp))
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = main(args)
        text = err.getvalue().strip()
        assert rc in (0, 2), (args, rc, text)
        assert "Traceback" not in text, (args, text)
        if rc == 2:
            lines = text.splitlines()
            assert len(lines) == 1 and lines[0].startswith("tailor: error: "), (args, text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
