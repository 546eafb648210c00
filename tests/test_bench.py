"""`lamina bench`: the runner, its arithmetic and output, on tiny workloads.

Nothing timed is asserted: the numbers only have to exist, be positive and be combined right.
"""

import json
import math

import numpy as np
import pytest

import lamina
from lamina import cli
from lamina.bench import frameworks, runner, worker
from lamina.bench.workloads import TARGETS, WORKLOADS, MLPSpec, load_digits_data, make_teacher_data


# ---- pure parts: names, ratios, summaries, output ---------------------------------------------

def test_expand_frameworks_aliases_and_order():
    assert frameworks.expand(["numpy", "torch"]) == ["torch", "torch-fused", "numpy"]
    assert frameworks.expand(["torch-eager"]) == ["torch"]
    assert frameworks.expand(["scikit-learn", "lamina", ""]) == ["lamina", "sklearn"]
    with pytest.raises(ValueError, match="'tensorflow'"):
        frameworks.expand(["tensorflow"])


@pytest.mark.parametrize("lam, other, lower, expected", [
    (1.0, 2.5, True, 2.5),      # seconds: torch takes 2.5× as long
    (300.0, 100.0, False, 3.0),  # GFLOP/s: lamina does 3× the work per second
    (2.0, 1.0, True, 0.5),      # lamina slower
])
def test_speedup_direction(lam, other, lower, expected):
    assert runner.speedup(lam, other, lower) == pytest.approx(expected)


def _fake_run(fw, threads, repeat, train_s, gflops=None, cost=None):
    results = {"mnist-mlp": {"train_s": train_s, "samples_per_s": 60000 / train_s,
                             "first_epoch_s": train_s * 1.5, "predict_ms": 10 * train_s,
                             "train_cpu_s": train_s * (0.5 if fw == "lamina" else 1.0),
                             "test_acc": 0.8}}
    if gflops is not None:
        results["gemm"] = {"gflops:128³": gflops}
    if cost is not None:
        results["mnist-dropout"] = {"sgd_s": train_s, "dropout_s": train_s * (1 + cost / 100),
                                    "dropout_cost_pct": cost}
    return {"framework": fw, "threads": threads, "repeat": repeat, "seconds": 1.0,
            "results": results, "runtime": {}}


def _fake_report(workloads=("mnist-mlp",)):
    opts = runner.Options(frameworks=["lamina", "torch"], workloads=list(workloads),
                          threads=[1], repeats=3, scale="tiny")
    lam_s, torch_s = [1.0, 2.0, 3.0], [4.0, 3.0, 9.0]
    runs = []
    for r in range(3):
        runs.append(_fake_run("lamina", 1, r, lam_s[r], gflops=200.0 + r, cost=2.0 + r))
        runs.append(_fake_run("torch", 1, r, torch_s[r], gflops=100.0, cost=30.0))
    return runner.summarize(opts, {"date": "today", "versions": {}}, runs, ["a note"])


def _row(report, workload, metric, fw, threads=1):
    (row,) = [r for r in report["summary"] if (r["workload"], r["metric"], r["framework"],
                                               r["threads"]) == (workload, metric, fw, threads)]
    return row


def test_summary_medians_spread_and_pairwise_ratio():
    report = _fake_report()
    torch = _row(report, "mnist-mlp", "train_s", "torch")
    assert (torch["median"], torch["min"], torch["max"], torch["n"]) == (4.0, 3.0, 9.0, 3)
    # pair by pair: 4/1, 3/2, 9/3 -> median 3 (the ratio of the medians would be 4/2 = 2)
    assert torch["speedup"]["values"] == pytest.approx([4.0, 1.5, 3.0])
    assert torch["speedup"]["median"] == pytest.approx(3.0)
    # higher-is-better metric: lamina/other
    sps = _row(report, "mnist-mlp", "samples_per_s", "torch")["speedup"]
    assert sps["median"] == pytest.approx(3.0)
    assert _row(report, "mnist-mlp", "train_s", "lamina")["speedup"] is None
    assert _row(report, "mnist-mlp", "test_acc", "torch")["speedup"] is None  # not compared


def test_targets_met_and_missed():
    report = _fake_report(("mnist-mlp", "mnist-dropout", "gemm"))
    by_text = {t["text"]: t for t in report["targets"]}
    eager = by_text[next(t.text for t in TARGETS if t.framework == "torch"
                         and t.metric == "train_s")]
    assert eager["status"] == "met" and eager["measured"]["median"] == pytest.approx(3.0)
    assert eager["cpu_status"] == "met" and eager["cpu_measured"]["median"] == pytest.approx(6.0)
    predict = by_text[next(t.text for t in TARGETS if t.metric == "predict_ms")]
    assert predict["status"] == "met"
    fused = by_text[next(t.text for t in TARGETS if t.framework == "torch-fused")]
    assert fused["status"] == "not measured"
    cost = by_text[next(t.text for t in TARGETS if t.metric == "dropout_cost_pct")]
    assert cost["status"] == "met" and cost["measured"]["median"] == pytest.approx(3.0)
    gemm = _row(report, "gemm", "gflops:128³", "torch")["speedup"]
    assert gemm["median"] == pytest.approx(2.01)


def test_markdown_and_json_output(tmp_path):
    report = _fake_report(("mnist-mlp", "mnist-dropout"))
    md = runner.to_markdown(report)
    assert md.startswith("## lamina bench")
    assert "| metric | threads | lamina | torch |" in md
    assert "| train s/epoch ↓ | 1 | 2.00 [1.00–3.00] | 4.00 [3.00–9.00] |" in md
    assert "| ↳ lamina × | 1 | 1× | 3.00× [1.50–4.00] |" in md
    assert "### targets" in md and "- a note" in md
    assert "| target | threads | wall time | status | CPU time | status |" in md
    back = json.loads(runner.to_json(report))
    assert back["summary"] == json.loads(json.dumps(report["summary"]))
    written = runner.write_outputs(report, str(tmp_path / "out"))
    names = {p.rsplit("/", 1)[-1] for p in written}
    assert {"results.md", "results.json"} <= names
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "results.png" not in names
    else:
        assert "results.png" in names
        assert (tmp_path / "out" / "results.png").read_bytes()[:4] == b"\x89PNG"


def test_failed_and_skipped_runs_become_notes():
    opts = runner.Options(frameworks=["lamina", "numpy"], workloads=["mnist-mlp"],
                          threads=[1], repeats=1, scale="tiny")
    runs = [{"framework": "lamina", "threads": 1, "repeat": 0, "seconds": 0.1, "results": {},
             "error": "exit code 1: boom"},
            {"framework": "numpy", "threads": 1, "repeat": 0, "seconds": 0.1,
             "results": {"mnist-mlp": {"error": "Traceback\nValueError: bad"}}}]
    report = runner.summarize(opts, {}, runs, [])
    assert report["summary"] == []
    assert any("boom" in n for n in report["notes"])
    assert any("ValueError: bad" in n for n in report["notes"])
    assert "(nothing measured)" in runner.to_markdown(report)


def test_plan_interleaves_frameworks_and_skips_missing(monkeypatch):
    monkeypatch.setattr(frameworks.base.Framework, "available",
                        lambda self: "not here" if self.name == "sklearn" else None)
    opts = runner.Options(frameworks=["sklearn", "numpy", "torch"], workloads=["gemm"],
                          threads=[1, 2], repeats=2, scale="tiny")
    notes = []
    jobs = runner.plan(opts, notes)
    order = [(j["repeat"], j["threads"], j["framework"]) for j in jobs]
    assert order == [(0, 1, "numpy"), (0, 1, "torch"), (0, 2, "numpy"), (0, 2, "torch"),
                     (1, 1, "numpy"), (1, 1, "torch"), (1, 2, "numpy"), (1, 2, "torch")]
    assert "sklearn: skipped (not here)" in notes


# ---- data and workload definitions -------------------------------------------------------------

def test_teacher_data_is_deterministic_and_learnable_shape():
    a = make_teacher_data(50, 20)
    b = make_teacher_data(50, 20)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    x, y, xt, yt = a
    assert x.shape == (50, 784) and x.dtype == np.float32 and x.flags.c_contiguous
    assert xt.shape == (20, 784) and y.dtype == np.int64 and set(np.unique(y)) <= set(range(10))
    assert len(np.unique(y)) > 3  # the teacher uses several classes


def test_digits_data():
    x, y, source = load_digits_data()
    assert x.shape == (1797, 64) and x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape == (1797,) and source


def test_spec_describe():
    spec = MLPSpec(784, (512, 256), 10, batch_size=128, optimizer="sgd", learning_rate=0.01,
                   momentum=0.9, dropout=0.5, l2=1e-4)
    text = spec.describe()
    assert "784-512-256-10" in text and "dropout 0.5" in text and "L2 0.0001" in text


# ---- each framework on the tiny workloads (skips cleanly when missing) -------------------------

@pytest.fixture
def restore_threads():
    before = lamina.get_num_threads()
    yield
    lamina.set_num_threads(before)


@pytest.mark.parametrize("name", frameworks.FRAMEWORKS)
def test_framework_runs_tiny_workloads(name, restore_threads):
    fw = frameworks.get(name)
    reason = fw.available()
    if reason:
        pytest.skip(reason)
    runnable = [w for w in WORKLOADS if fw.supports(WORKLOADS[w]) is None]
    if not runnable:
        pytest.skip(f"{name} supports none of the workloads in this build")
    out = worker.run({"framework": name, "threads": 1, "workloads": runnable, "scale": "tiny",
                      "epochs": None})
    for wname in runnable:
        res = out["results"][wname]
        assert "error" not in res, res.get("error")
        if "skipped" in res:
            continue
        for metric in WORKLOADS[wname].metrics:
            if metric.key in res:
                assert math.isfinite(res[metric.key]), (wname, metric.key)
                if metric.compare:
                    assert res[metric.key] > 0, (wname, metric.key)
        if wname == "digits-small":
            assert res["train_acc"] > 0.3  # it learns (10 classes: chance is 0.1)


def test_cli_bench_json_end_to_end(capsys, tmp_path):
    """The real subprocess path, with numpy only (fast to import)."""
    rc = cli.main(["bench", "--scale", "tiny", "--frameworks", "numpy", "--threads", "1",
                   "--workloads", "digits-small,gemm", "--json", "--out", str(tmp_path)])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    assert report["columns"] == ["numpy"]
    assert report["options"]["scale"] == "tiny"
    assert report["runs"][0]["threads"] == 1 and not report["runs"][0].get("error")
    us = _row(report, "digits-small", "us_per_batch", "numpy")
    assert us["median"] > 0 and us["n"] == 1
    assert "lamina bench --scale=tiny --frameworks numpy" in report["meta"]["command"]
    assert (tmp_path / "results.md").read_text().startswith("## lamina bench")


@pytest.mark.parametrize("argv, message", [
    (["--frameworks", "jax"], "unknown framework 'jax'"),
    (["--workloads", "resnet"], "unknown workload 'resnet'"),
])
def test_cli_bench_rejects_unknown_names(argv, message, capsys):
    assert cli.main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_bench_rejects_bad_threads(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "--threads", "0"])
    assert "--threads" in capsys.readouterr().err


def test_wait_until_idle_returns_a_load():
    load = runner.wait_until_idle(0.0, window_s=0.05)
    assert load >= 0.0 or math.isnan(load)


def test_interrupted_run_still_reports_finished_runs(monkeypatch):
    calls = []

    def fake_run_job(job, timeout_s):
        if calls:
            raise KeyboardInterrupt
        calls.append(job)
        return {**job, "seconds": 0.1, "runtime": {},
                "results": {"digits-small": {"us_per_batch": 50.0, "train_acc": 0.9}}}

    monkeypatch.setattr(runner, "run_job", fake_run_job)
    opts = runner.Options(frameworks=["numpy"], workloads=["digits-small"], threads=[1],
                          repeats=3, scale="tiny")
    report = runner.run(opts, progress=lambda msg: None)
    assert any(n.startswith("interrupted: 1 of 3 runs") for n in report["notes"])
    assert _row(report, "digits-small", "us_per_batch", "numpy")["median"] == 50.0
