"""examples/keras_style.py (a Keras-docs-style MLP) runs with `import lamina as keras`."""

import pathlib
import re
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "keras_style.py"


def test_example_differs_from_keras_only_in_the_import():
    text = EXAMPLE.read_text()
    imports = [line for line in text.splitlines() if re.match(r"(import|from) \w", line)]
    assert "import lamina as keras" in imports
    assert [i for i in imports if "lamina" in i] == ["import lamina as keras",
                                                     "from lamina import layers"]


@pytest.mark.slow
def test_keras_style_example_runs(tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    acc = float(re.search(r"Test accuracy: ([0-9.]+)", r.stdout).group(1))
    assert acc >= 0.95
    assert "Restored model predicts the same." in r.stdout


def readme_usage_block():
    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    usage = readme.split("## Usage", 1)[1]
    return usage.split("```python", 1)[1].split("```", 1)[0]


def test_readme_usage_example_runs(tmp_path):
    code = readme_usage_block()
    assert "import lamina as keras" in code
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    loss, acc = (float(v) for v in r.stdout.strip().strip("[]").split(","))
    assert acc > 0.9
    assert (tmp_path / "digits.lamina").exists()
