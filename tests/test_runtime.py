"""CPU dispatch and the thread-count API."""

import platform
import re

import pytest

import lamina
from lamina import _core, runtime

from conftest import run_python


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"^flags\s*:(.*)$", text, re.M)
    return set(m.group(1).split()) if m else None


def test_cpu_info_keys():
    info = lamina.cpu_info()
    assert {"isa", "supported", "num_threads", "max_isa", "build"} <= info.keys()
    assert info["isa"] in info["supported"]
    assert info["supported"][0] == "generic"
    assert info["num_threads"] == lamina.get_num_threads()


def test_dispatch_picks_highest_supported_level():
    flags = _cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        # aarch64 & co. have the generic kernels only (under QEMU, /proc/cpuinfo is the x86 host's)
        expected = "generic"
    elif {"avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16"} <= flags:
        expected = "avx512_bf16"
    elif {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= flags:
        expected = "avx512"
    elif {"avx2", "fma"} <= flags:
        expected = "avx2"
    else:
        expected = "generic"
    assert _core.max_isa() == expected
    out = run_python("import lamina; print(lamina.cpu_info()['isa'])")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected


@pytest.mark.parametrize("level", ["generic", "avx2", "avx512", "avx512_bf16"])
def test_env_lowers_level(level):
    if level not in _core.supported_isas():
        pytest.skip(f"{level} not supported here")
    out = run_python("import lamina; print(lamina.cpu_info()['isa'])", {"LAMINA_ISA": level})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == level


def test_env_bogus_warns_with_accepted_values():
    out = run_python("import lamina; print(lamina.cpu_info()['isa'])", {"LAMINA_ISA": "bogus"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == _core.max_isa()
    assert "LAMINA_ISA='bogus'" in out.stderr
    assert "generic, avx2, avx512" in out.stderr


def test_env_cannot_raise_level():
    if _core.max_isa() == "avx512_bf16":
        pytest.skip("this CPU supports every level")
    out = run_python("import lamina; print(lamina.cpu_info()['isa'])",
                     {"LAMINA_ISA": "avx512_bf16"})
    assert out.stdout.strip() == _core.max_isa()
    assert "not supported" in out.stderr


def test_set_isa_rejects_unknown_and_unsupported():
    with pytest.raises(ValueError, match="'sse9'"):
        runtime.set_isa("sse9")
    with pytest.raises(ValueError, match="sse9"):
        _core.set_isa("sse9")
    if _core.max_isa() != "avx512_bf16":
        with pytest.raises(ValueError, match="not supported"):
            runtime.set_isa("avx512_bf16")


def test_set_isa_round_trip(isa):
    assert lamina.cpu_info()["isa"] == isa


def test_thread_count_api(threads):
    threads(1)
    assert lamina.get_num_threads() == 1
    assert lamina.cpu_info()["num_threads"] == 1
    threads(3)
    assert lamina.get_num_threads() == 3
    threads(2)
    assert lamina.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1])
def test_thread_count_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=str(bad)):
        lamina.set_num_threads(bad)
    with pytest.raises(ValueError, match=str(bad)):
        _core.set_num_threads(bad)


@pytest.mark.parametrize("bad", [1.5, "2", None, True])
def test_thread_count_rejects_non_ints(bad):
    with pytest.raises(TypeError, match=repr(bad).replace("(", r"\(")):
        lamina.set_num_threads(bad)


def test_env_num_threads_sets_default():
    out = run_python("import lamina; print(lamina.get_num_threads())", {"LAMINA_NUM_THREADS": "1"})
    assert out.stdout.strip() == "1"


def test_default_threads_is_usable_cores():
    out = run_python("import lamina; i = lamina.cpu_info(); print(i['num_threads'], i['usable_cores'])")
    n, cores = out.stdout.split()
    assert n == cores


def test_first_parallel_call_after_resize_completes(threads):
    # Regression: a worker that started after the first job was published used to miss it and
    # the caller waited forever. Resize, then immediately run a kernel big enough to split.
    import numpy as np

    from lamina import ops

    a = np.random.default_rng(0).standard_normal((300, 300)).astype(np.float32)
    expected = ops.matmul(a, a)
    for n in (2, 3, 1, 2, 4, 2):
        threads(n)
        np.testing.assert_array_equal(ops.matmul(a, a), expected)


def test_kernels_from_several_python_threads_agree(threads):
    # Callers that find the pool busy run inline; every caller still gets the same bits.
    import threading

    import numpy as np

    from lamina import ops

    threads(2)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((257, 300)).astype(np.float32)
    b = rng.standard_normal((300, 129)).astype(np.float32)
    expected = ops.matmul(a, b)
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(ops.matmul(a, b))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    assert len(results) == 80
    for r in results:
        np.testing.assert_array_equal(r, expected)


def test_executor_flushes_denormals_and_restores_the_mode(threads):
    # The step executor runs with FTZ/DAZ (subnormal float32 results become 0) on the caller
    # and, through the pool, on the workers; afterwards both are back to IEEE subnormals, so a
    # plain kernel call keeps them, with the same bits at 1 and 2 threads.
    import numpy as np

    from lamina import layers, ops

    tiny = np.float32(1e-40)  # subnormal in float32
    model = lamina.Sequential([lamina.Input(shape=(2,)), layers.Dense(1, use_bias=False)], seed=0)
    model.compile(optimizer="sgd", loss="mse")
    model.set_weights([np.array([[1.0], [0.0]], np.float32)])
    threads(2)
    out = model.predict(np.array([[tiny, 1.0]], np.float32), verbose=0)
    assert out[0, 0] == 0.0  # flushed inside the executor
    model.fit(np.ones((64, 2), np.float32), np.ones(64, np.float32), verbose=0, epochs=1)

    a = np.full((300, 300), tiny, np.float32)
    b = np.eye(300, dtype=np.float32)
    for n in (2, 1):
        threads(n)
        c = ops.matmul(a, b)
        assert np.all(c == tiny), f"subnormals flushed outside the executor with {n} threads"
