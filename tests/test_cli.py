"""The `lamina` console script."""

import shutil
import subprocess
import sys

import pytest

import lamina
from lamina import _core, cli


def test_info_prints_version_isa_threads(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"lamina {lamina.__version__}" in out
    assert f"isa {_core.active_isa()}" in out
    assert f"threads {lamina.get_num_threads()}" in out
    assert "compiler" in out and "flags" in out


def test_console_script_installed():
    exe = shutil.which("lamina")
    if exe is None:
        pytest.skip("console script not on PATH (not installed into this environment's bin)")
    out = subprocess.run([exe, "info"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "isa " in out.stdout


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "lamina", "info"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_closed_stdout_pipe_exits_quietly():
    # `lamina info | head -0`: the reader is gone before lamina writes. No traceback, no
    # "Exception ignored" at exit; the status is 141 (128 + SIGPIPE) like a killed writer.
    with subprocess.Popen([sys.executable, "-m", "lamina", "info"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        proc.stdout.close()
        err = proc.stderr.read().decode()
        status = proc.wait(timeout=60)
    assert status == 141, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
