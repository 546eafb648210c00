"""The installed package: version single-sourcing, the stub file, the import hint."""

import ast
import pathlib

import lamina
from lamina import _core


def test_core_version_matches_package():
    assert _core.__version__ == lamina.__version__


def test_version_is_from_version_file():
    from lamina import _version

    assert lamina.__version__ == _version.__version__


def test_tests_use_installed_package():
    # The tests must exercise what pip installed, not the source tree.
    assert "site-packages" in pathlib.Path(lamina.__file__).parts


def test_py_typed_and_stub_ship():
    pkg = pathlib.Path(lamina.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_core.pyi").exists()


def test_stub_matches_module():
    stub = pathlib.Path(lamina.__file__).parent / "_core.pyi"
    tree = ast.parse(stub.read_text())
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
    public = {n for n in dir(_core) if not n.startswith("_")} | {"__version__"}
    assert declared == public, (
        f"in module, not in _core.pyi: {sorted(public - declared)}; "
        f"in _core.pyi, not in module: {sorted(declared - public)}"
    )


def test_all_is_explicit_and_resolves():
    for name in lamina.__all__:
        assert hasattr(lamina, name), name
