"""Fuzz test of the run-file reader: damaged run files load or raise RunFileError, nothing
else (no TypeError, KeyError, RecursionError ... from deep inside)."""

import json
import pathlib
import time

import numpy as np
import pytest

import lamina.examples
from lamina.runfile import RunFileError, load_run

# The bundled run files (they ship in the package: lamina/examples/).
EXAMPLES = sorted(pathlib.Path(lamina.examples.__file__).parent.glob("*.toml"))
TOKENS = ["0", "-1", "1e309", "nan", "inf", '""', '"relu"', "[]", "{}", "true", "[1, [2]]",
          "{a = 1}", "2e19", "18446744073709551616", '"\\u0000"', "1.5", '"sgd"', "'x'",
          "{name = \"adam\"}", "[[model.layers]]", "=", "[training]", '"digits"']


def _mutate(rng, text):
    kind = int(rng.integers(6))
    if kind == 0:  # truncation
        return text[:int(rng.integers(len(text) + 1))]
    if kind == 1:  # character flips
        chars = list(text)
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(len(chars)))
            chars[i] = chr(int(rng.integers(32, 127)))
        return "".join(chars)
    lines = text.splitlines()
    if kind == 2:  # a line dropped or duplicated
        i = int(rng.integers(len(lines)))
        if rng.integers(2):
            del lines[i]
        else:
            lines.insert(i, lines[i])
        return "\n".join(lines)
    if kind == 3:  # a value replaced
        assigns = [i for i, ln in enumerate(lines) if "=" in ln and not ln.startswith("#")]
        if assigns:
            i = assigns[int(rng.integers(len(assigns)))]
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {TOKENS[int(rng.integers(len(TOKENS)))]}"
        return "\n".join(lines)
    if kind == 4:  # an unknown or misplaced key
        i = int(rng.integers(len(lines) + 1))
        lines.insert(i, f"{rng.choice(['units', 'epochs', 'zzz', 'seed', 'name'])} = "
                        f"{TOKENS[int(rng.integers(len(TOKENS)))]}")
        return "\n".join(lines)
    # deep nesting
    depth = int(rng.integers(100, 5000))
    return text + "\nx = " + "[" * depth + "]" * depth + "\n"


@pytest.mark.slow
def test_fuzz_run_file_reader(tmp_path):
    assert EXAMPLES
    texts = [p.read_text() for p in EXAMPLES]
    rng = np.random.default_rng(17)
    path = tmp_path / "run.toml"
    counts = {"loaded": 0, "refused": 0}
    t0 = time.perf_counter()
    for case in range(2000):
        text = _mutate(rng, texts[case % len(texts)])
        path.write_text(text)
        try:
            load_run(path)
            counts["loaded"] += 1
        except RunFileError:
            counts["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - the failure this test exists for
            raise AssertionError(f"case {case}: {type(exc).__name__}: {exc}\n{text}") from exc
    # Both outcomes must be well exercised (the bundled lessons' run files are longer than the
    # old examples, so more of their damaged copies are refused: ~7% still load).
    assert counts["refused"] > 200 and counts["loaded"] > 100, counts
    assert time.perf_counter() - t0 < 600


@pytest.mark.parametrize("text", [
    "x = " + "[" * 100000 + "]" * 100000,
    json.dumps({"training": {"epochs": 1}, "name": "x"})[:-1],
    "[training]\nepochs = 1\n[training]\nepochs = 2\n",
    "\x00\x01\x02",
])
def test_hostile_run_files(tmp_path, text):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(RunFileError):
        load_run(path)


def test_hostile_json_run_file(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(RunFileError):
        load_run(path)
