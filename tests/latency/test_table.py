"""The table file and its predictor: round trip, fingerprint, sum + correction, refusals."""

import json

import numpy as np
import pytest

from tailor.errors import ConfigError
from tailor.latency_table import LatencyTable, MissingBlockError, TableLatencyEvaluator, block_family
from tailor.latency_table.runner import write_table
from tailor.supernets import create_supernet


def test_table_round_trip_and_prediction_is_corrected_sum(tiny_mbv3, tiny_table, tmp_path):
    path = write_table(tiny_table.data, tmp_path / "dev.json")
    table = LatencyTable.load(path)
    assert table.fingerprint == tiny_table.fingerprint and table.family == "mobilenetv3"
    assert len(table.data["entries"]) == 10 and len(table.data["calibration"]) == 6
    entry = next(iter(table.data["entries"].values()))
    assert entry["median_ms"] > 0 and len(entry["rounds_ms"]) == 2 and entry["spread"] >= 0
    blocks = block_family("mobilenetv3", tiny_mbv3)
    cfg = tiny_mbv3.space().sample(np.random.default_rng(3))
    keys = blocks.blocks(cfg)
    e, c = table.data["entries"], table.data["correction"]
    assert all(v["overhead_ms"] > 0 for v in e.values()) and c["kind"] == "blocks"  # the default
    raw = sum(e[k]["median_ms"] for k in keys)
    ms, std = table.predict(keys)
    assert ms == pytest.approx(c["scale"] * raw + c["per_block_ms"] * len(keys) + c["offset_ms"])
    # the overhead-aware alternative, refitted from the same measurements
    from tailor.latency_table.runner import refit

    ts = LatencyTable(refit(table.data, "theil-sen"))
    net = ts.data["networks"][f"{keys[0]}|{keys[-1]}"]["median_ms"]
    base = net + sum(e[k]["median_ms"] - e[k]["overhead_ms"] for k in keys)
    c = ts.data["correction"]
    assert ts.predict(keys)[0] == pytest.approx(c["scale"] * base + c["offset_ms"])
    assert std == pytest.approx(table.rel_std * ms)
    ev = TableLatencyEvaluator(tiny_mbv3, "mobilenetv3", table)
    assert not ev.expensive and table.fingerprint in ev.fingerprint()
    assert ev.evaluate([cfg])[0] == {"latency_ms": pytest.approx(ms), "latency_std_ms": pytest.approx(std)}


def test_corrupt_or_edited_tables_are_refused(tiny_table, tmp_path):
    p = tmp_path / "t.json"
    p.write_text("{not json")
    with pytest.raises(ConfigError, match="not a valid latency table: not JSON"):
        LatencyTable.load(p)
    edited = json.loads(json.dumps(tiny_table.data))
    next(iter(edited["entries"].values()))["median_ms"] *= 0.5
    p.write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="fingerprint does not match"):
        LatencyTable.load(p)
    del edited["entries"]
    p.write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="field 'entries' missing"):
        LatencyTable.load(p)
    with pytest.raises(ConfigError, match="table file not found"):
        LatencyTable.load(tmp_path / "absent.json")


def test_table_for_another_family_or_shape_is_refused(tiny_table, sizes):
    resnet = create_supernet("resnet", **sizes["resnet"])
    with pytest.raises(ConfigError, match="profiled for family 'mobilenetv3', this search uses 'resnet'"):
        TableLatencyEvaluator(resnet, "resnet", tiny_table)
    other = create_supernet("mobilenetv3", **{**sizes["mobilenetv3"], "resolutions": (16, 24)})
    with pytest.raises(ConfigError, match=r"profiled for resolutions=\[16\], this super-network has resolutions="):
        TableLatencyEvaluator(other, "mobilenetv3", tiny_table)


def test_missing_block_is_named_or_measured(tiny_mbv3, tiny_table):
    data = json.loads(json.dumps(tiny_table.data))
    gone = "stem/r16"
    del data["entries"][gone]
    table = LatencyTable(data, "partial.json")
    cfg = tiny_mbv3.space().extreme("min")
    with pytest.raises(MissingBlockError, match="partial.json has no entry for block 'stem/r16'"):
        TableLatencyEvaluator(tiny_mbv3, "mobilenetv3", table).evaluate([cfg])
    ev = TableLatencyEvaluator(tiny_mbv3, "mobilenetv3", table, missing="measure")
    before = ev.fingerprint()
    ms = ev.evaluate([cfg])[0]["latency_ms"]
    assert gone in table.data["entries"] and table.data["entries"][gone]["median_ms"] > 0 and ms > 0
    assert ev.fingerprint() == before  # the study keeps the table it started with
