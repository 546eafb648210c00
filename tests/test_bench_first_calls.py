"""benchmarks/bench_first_calls.py runs (tiny, no timing assertions) so it cannot rot."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_first_calls.py"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("lib", ["lamina", "numpy"])
def test_bench_first_calls_prints_one_line(lib):
    pytest.importorskip("threadpoolctl")
    proc = subprocess.run([sys.executable, str(SCRIPT), lib, "dX", "--threads", "2",
                           "--calls", "3"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith(f"{lib} dX threads=2 GFLOP/s calls 1-10 ") and "busy threads" in line


def test_bench_first_calls_refuses_an_unknown_shape():
    proc = subprocess.run([sys.executable, str(SCRIPT), "lamina", "sq7"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "invalid choice: 'sq7'" in proc.stderr
