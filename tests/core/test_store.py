import pytest

from tailor.errors import ConfigError
from tailor.store import COMPLETE, FAIL, WAITING, open_store


@pytest.fixture(params=["file", "memory", "postgresql"])
def store(request, tmp_path):
    if request.param == "postgresql":  # a fresh database on a real server (skips without PostgreSQL)
        return open_store(request.getfixturevalue("postgresql_server").database())
    return open_store(str(tmp_path / "s.db") if request.param == "file" else "sqlite://")


def test_plan_finish_and_read_back_in_order(store):
    st = store.open_study("a", {"seed": 1})
    planned = store.plan(st.id, 0, [("k1", {"x": 1}), ("k2", {"x": 2})], "random", 1)
    assert [t.state for t in planned] == [WAITING, WAITING]
    store.finish(planned[1].id, COMPLETE, {"acc": 0.5}, None, 0.1)
    store.finish(planned[0].id, FAIL, {}, "boom", 0.2)
    trials = store.trials(st.id)
    assert [(t.number, t.key, t.state) for t in trials] == [(0, "k1", FAIL), (1, "k2", COMPLETE)]
    assert trials[1].metrics == {"acc": 0.5} and trials[0].error == "boom"
    assert store.trials(st.id, [COMPLETE])[0].config == {"x": 2}


def test_a_configuration_is_never_stored_twice(store):
    st = store.open_study("a", {})
    store.plan(st.id, 0, [("k1", {"x": 1})], "t", 0)
    with pytest.raises(ValueError, match="already in the study"):
        store.plan(st.id, 1, [("k3", {"x": 3}), ("k1", {"x": 1})], "t", 0)
    assert [t.key for t in store.trials(st.id)] == ["k1"]  # the whole batch rolled back


def test_finished_trials_are_immutable(store):
    st = store.open_study("a", {})
    (t,) = store.plan(st.id, 0, [("k", {})], "t", 0)
    store.finish(t.id, COMPLETE, {"m": 1.0}, None, 0.0)
    with pytest.raises(ValueError, match="not waiting"):
        store.finish(t.id, FAIL, {}, "late", 0.0)


def test_reopen_checks_settings(tmp_path):
    path = str(tmp_path / "s.db")
    a = open_store(path).open_study("a", {"seed": 1, "tactic": "x"})
    again = open_store(path).open_study("a", {"seed": 1, "tactic": "x"})
    assert again.id == a.id
    with pytest.raises(ConfigError, match=r"other settings \(seed: 1 -> 2\)"):
        open_store(path).open_study("a", {"seed": 2, "tactic": "x"})
    with pytest.raises(ConfigError, match=r"search.kappa: 1 -> 2; search.seed: 0 -> 3"):  # every differing field
        open_store(path).open_study("b", {"search": {"kappa": 1, "seed": 0}})
        open_store(path).open_study("b", {"search": {"kappa": 2, "seed": 3}})


def test_load_study_by_name(tmp_path):
    store = open_store(str(tmp_path / "s.db"))
    with pytest.raises(ConfigError, match="no such study"):
        store.load_study()
    store.open_study("a", {})
    assert store.load_study().name == "a"
    store.open_study("b", {})
    with pytest.raises(ConfigError, match="several studies"):
        store.load_study()
    assert store.load_study("b").name == "b"


def test_unreachable_url_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot open store"):
        open_store("nosuchdialect://x/y")
