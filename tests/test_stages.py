"""Stages stay apart: training stops at fit, and every entry point takes the same parameter names."""

import ast

from colorgan.config import DEFAULTS, config_names
from colorgan.notebooks import declared_parameters
from colorgan.paths import NOTEBOOKS_DIR, PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "colorgan"


def _module_path(name):
    path = PACKAGE.parent / name.replace(".", "/")
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imports(name):
    """The colorgan modules ``name`` imports (anywhere in the file), as dotted names."""
    path = _module_path(name)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {module for module in found if module.startswith("colorgan.") and _module_path(module).is_file()}


def reachable(name):
    """Every colorgan module that importing ``name`` can import, directly or through others."""
    seen, todo = set(), [name]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += sorted(_imports(module))
    return seen - {name}


def test_training_imports_nothing_from_the_stages_after_it():
    after = {"colorgan.calibration", "colorgan.evaluate", "colorgan.inference", "colorgan.scoreboard",
             "colorgan.shipped", "colorgan.batch", "colorgan.averaging"}
    assert reachable("colorgan.training") & after == set()
    assert "colorgan.selection" in reachable("colorgan.training")  # the export callback applies its rule
    assert "colorgan.training" not in reachable("colorgan.calibration")  # and calibration does not train


def test_notebook_03_declares_every_config_name_and_no_other():
    assert set(declared_parameters(NOTEBOOKS_DIR / "03_train.ipynb")) == set(config_names()) == set(DEFAULTS)


def test_make_train_and_colorgan_train_take_every_config_name(monkeypatch, tmp_path):
    import json

    import papermill

    from colorgan.cli import build_parser
    from colorgan.commands import train
    from colorgan.notebooks import run_notebooks

    passed = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda path, out, parameters, **kwargs: passed.append(parameters))
    run_notebooks(None, ["03"], output_dir=tmp_path, overrides=DEFAULTS)  # make train: the notebooks, with -p
    assert passed == [DEFAULTS]
    settings = [item for name, value in DEFAULTS.items() for item in ("-p", f"{name}={json.dumps(value)}")]
    assert train.parameters(build_parser().parse_args(["train", *settings])) == DEFAULTS


def test_a_number_yaml_reads_as_text_is_a_number_and_a_word_is_refused_by_name():
    import pytest

    from colorgan.cli import build_parser
    from colorgan.commands import train
    from colorgan.config import resolve_config

    # YAML 1.1 reads 2e-5 (no dot) as a string: `-p generator_learning_rate=2e-5` crashed inside Keras' Adam.
    parameters = train.parameters(build_parser().parse_args(["train", "-p", "generator_learning_rate=2e-5"]))
    assert parameters["generator_learning_rate"] == "2e-5"
    assert resolve_config(parameters)["generator_learning_rate"] == 2e-5
    with pytest.raises(ValueError, match="ema_decay must be a number, got 'fast'"):
        resolve_config({"ema_decay": "fast"})
    assert resolve_config({"run_name": "1e3"})["run_name"] == "1e3"  # text parameters stay text
