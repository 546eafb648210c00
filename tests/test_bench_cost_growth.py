"""benchmarks/bench_cost_growth.py keeps working: its FLOP count, its worker, its tables and
its whole --quick path on tiny sizes (lamina only). No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import lamina

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cost_growth.py"


@pytest.fixture(scope="module")
def bench():
    if not SCRIPT.exists():
        pytest.skip("benchmarks/ is not next to tests/ here")
    path = list(sys.path)
    spec = importlib.util.spec_from_file_location("bench_cost_growth", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path[:] = path
    return mod


def test_gemm_flops_counts_fwd_dw_and_dx_but_not_the_inputs_gradient(bench):
    # 784-512-256-10 at batch 128: fwd + dW for the first layer, fwd + dW + dX for the others.
    want = 2 * 128 * (784 * 512 * 2 + 512 * 256 * 3 + 256 * 10 * 3)
    assert bench.gemm_flops(784, [512, 256], 10, 128) == want
    assert bench.gemm_flops(4, [], 3, 2) == 2 * 2 * 4 * 3 * 2
    # Linear in the batch, and the sweeps' configurations are the documented networks.
    assert bench.gemm_flops(784, [512, 256], 10, 256) == 2 * want
    assert bench.SWEEPS["width"][3](1024) == ([1024, 1024], 128)
    assert bench.SWEEPS["depth"][3](4) == ([512] * 4, 128)
    assert bench.SWEEPS["batch"][3](4096) == ([512, 256], 4096)


@pytest.mark.parametrize("lib", ["lamina-f32", "lamina-bf16"])
def test_worker_times_tiny_lamina_steps_and_restores_the_policy(bench, lib):
    before = str(lamina.mixed_precision.global_policy())
    threads = lamina.get_num_threads()
    try:
        out = bench.run_worker(lib, 1, "width", [8, 16], min_time=0.01, reps=2, clock="cpu")
    finally:
        lamina.set_num_threads(threads)
    assert str(lamina.mixed_precision.global_policy()) == before
    assert out["lib"] == lib and out["clock"] == "cpu" and set(out["results"]) == {"8", "16"}
    for r in out["results"].values():
        assert r["s"] > 0 and r["s"] <= r["s_median"] and r["steps"] >= 2
        first, last = r["loss"]
        assert np.isfinite(first) and np.isfinite(last) and last < first  # it trains


def _doc():
    """A two-library result document as collect() returns it (made-up times)."""
    rows = []
    for lib, ms in (("lamina-f32", 2.0), ("torch-f32", 3.0)):
        for v in (1, 2):
            flop = 1e9 * v
            rows.append({"sweep": "depth", "value": v, "hidden": [512] * v, "batch": 128,
                         "threads": 1, "lib": lib, "gflop_per_step": flop * 1e-9,
                         "ms": ms * v, "gflops": flop / (ms * v * 1e-3) * 1e-9,
                         "frac_peak": flop / (ms * v * 1e-3) * 1e-9 / 100.0})
    meta = {"date": "d", "minutes": 0.1, "command": "c", "cpu": "cpu", "cores": 2,
            "isa": "avx512", "fma_peak_gflops": 100.0, "bf16_peak_gflops": 0.0,
            "libs": ["lamina-f32", "torch-f32"], "skipped": {"lamina-bf16": "no AVX512_BF16"},
            "rounds": 1, "reps": 1, "clock": "wall", "threads": [1],
            "info": {"lamina-f32": {"version": "x"}}, "load_avg": [0.0, 0.0, 0.0]}
    return {"meta": meta, "sweeps": {"depth": {"label": "layers", "values": [1, 2]}},
            "rows": rows}


def test_ratio_is_torch_time_over_lamina_time_and_the_table_shows_it(bench):
    doc = _doc()
    assert bench.ratios(doc) == {("depth", 1, 1, "f32"): 1.5, ("depth", 2, 1, "f32"): 1.5}
    md = bench.markdown(doc)
    assert "| lamina/torch f32 |" in md and "| 1.50 |" in md
    assert "| 1 | 1 | 1 | 2 / 500 / 500% | 3 / 333 / 333% | 1.50 |" in md
    assert "lamina-bf16: no AVX512_BF16" in md


@pytest.mark.slow  # three subprocesses (two peak probes, one worker): ~3 s idle
def test_quick_path_end_to_end_lamina_only(bench, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "_have_torch", lambda: False)  # as where torch is missing
    bench.main(["--quick", "--libs", "lamina-f32", "torch-f32", "--threads", "1",
                "--sweeps", "depth",
                "--values", "1", "--min-time", "0.02", "--reps", "1", "--clock", "cpu",
                "--out", str(tmp_path)])
    doc = json.loads((tmp_path / "results.json").read_text())
    (row,) = doc["rows"]
    assert row["lib"] == "lamina-f32" and row["hidden"] == [512] and row["threads"] == 1
    assert row["gflop_per_step"] == pytest.approx(bench.gemm_flops(784, [512], 10, 128) * 1e-9)
    assert row["ms"] > 0
    assert row["frac_peak"] is None or row["frac_peak"] > 0  # None where the probe gives 0
    assert doc["meta"]["libs"] == ["lamina-f32"]
    assert doc["meta"]["skipped"] == {"torch-f32": "torch is not installed"}
    md = (tmp_path / "results.md").read_text()
    assert "torch-f32: torch is not installed" in md and "| lamina/torch" not in md
    assert "## depth" in md and "| 1 | 1 |" in md
    assert md in capsys.readouterr().out
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "results.png").stat().st_size > 1000
    # The plot and tables re-render from the JSON without measuring.
    bench.main(["--from-json", str(tmp_path / "results.json")])
    assert "## depth" in capsys.readouterr().out


def test_bad_arguments_are_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--values", "8", "--sweeps", "width", "depth"])
    assert "--values needs exactly one sweep" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench.main(["--threads", "0"])
    assert "must be > 0, got 0" in capsys.readouterr().err
