"""The import layers of the architecture hold: no ft_nb module imports one above it, every module has its layer."""
import importlib.util, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _stats():
    spec = importlib.util.spec_from_file_location("code_stats", ROOT / "scripts" / "code_stats.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_no_module_imports_one_above_it():
    st = _stats().module_stats(ROOT / "ft_nb")
    assert st["upward_imports"] == [], st["upward_imports"]
    assert st["unplaced_modules"] == [], st["unplaced_modules"]


def test_the_check_fails_on_an_upward_import(tmp_path):
    cs = _stats()
    pkg = tmp_path / "ft_nb"
    pkg.mkdir()
    (pkg / "core.py").write_text("from .training import LoRATrainer\n")
    (pkg / "training.py").write_text("from .core import FTError\n")
    (pkg / "newmod.py").write_text("x = 1\n")
    st = cs.module_stats(pkg)
    assert st["upward_imports"] == ["core imports training"]
    assert st["unplaced_modules"] == ["newmod"]


def test_an_import_inside_a_function_counts_too(tmp_path):
    cs = _stats()
    pkg = tmp_path / "ft_nb"
    pkg.mkdir()
    (pkg / "runs.py").write_text("def f():\n    from ft_nb.serve import app\n    return app\n")
    (pkg / "serve.py").write_text("app = 1\n")
    assert cs.module_stats(pkg)["upward_imports"] == ["runs imports serve"]
