"""The notebook harness: notebooks are committed clean, and all run headless in pipeline order.

The executed copies land in build/notebooks/smoke/, where `make test` then runs
`pytest --nbval-lax` over them (see the Makefile).
"""

import ast
import os
import subprocess
import sys
import types

import nbformat
import numpy as np
import papermill
import pytest

from colorgan import shipped, training
from colorgan.cli import main
from colorgan.notebooks import declared_parameters, known_parameters, load_params, notebook_paths, run_notebooks
from colorgan.paths import BUILD_DIR, COLAB_DIR, NOTEBOOKS_DIR, PARAMS_DIR, REPOSITORY

NOTEBOOKS = notebook_paths()


def _read(path):
    return nbformat.read(path, as_version=4)


def test_notebooks_exist_in_pipeline_order():
    names = [path.name for path in NOTEBOOKS]
    assert names and names[0] == "01_prepare_data.ipynb"
    numbers = [int(name[:2]) for name in names]
    assert numbers == list(range(1, len(numbers) + 1)), names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    for index, cell in enumerate(_read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {index} has saved outputs: strip them before committing"
            assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_of_literals(path):
    cells = [c for c in _read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} has {len(cells)} cells tagged 'parameters', expected exactly 1"
    assert cells[0].cell_type == "code"
    for statement in ast.parse(cells[0].source).body:
        assert isinstance(statement, ast.Assign), f"{path.name}: parameters cell holds {ast.dump(statement)[:60]}"
        ast.literal_eval(statement.value)  # raises ValueError unless the value is a literal


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opens_and_closes_with_markdown(path):
    cells = _read(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    assert cells[-1].cell_type == "markdown" and "next" in cells[-1].source.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opens_in_colab_from_its_title_and_installs_colorgan_in_its_first_code_cell(path):
    cells = _read(path).cells
    github = REPOSITORY.removeprefix("https://github.com/")
    assert f"(https://colab.research.google.com/github/{github}/blob/main/notebooks/{path.name})" in cells[0].source
    assert cells[1].cell_type == "code" and REPOSITORY in cells[1].source
    assert cells[1].source == _read(NOTEBOOKS[0]).cells[1].source  # one install cell, the same everywhere


def _run_install_cell(monkeypatch, in_colab):
    """Execute the install cell with every side effect recorded instead of done."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: calls.append(command))
    monkeypatch.setattr(os, "chdir", lambda folder: calls.append(["cd", folder]))
    monkeypatch.setattr(sys, "path", list(sys.path))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    before = list(sys.path)
    exec(compile(_read(NOTEBOOKS[0]).cells[1].source, "install cell", "exec"), {})
    return calls, sys.path != before


def test_the_install_cell_does_nothing_outside_colab(monkeypatch):
    assert _run_install_cell(monkeypatch, in_colab=False) == ([], False)


def test_in_colab_the_install_cell_clones_the_project_and_installs_it_editable(monkeypatch):
    calls, path_changed = _run_install_cell(monkeypatch, in_colab=True)
    clone = [] if os.path.isdir(COLAB_DIR) else [["git", "clone", "--depth=1", REPOSITORY, COLAB_DIR]]
    assert calls == [*clone, [sys.executable, "-m", "pip", "install", "--quiet", "-e", COLAB_DIR],
                     ["cd", f"{COLAB_DIR}/notebooks"]]
    assert path_changed  # this kernel imports colorgan without a restart


def test_a_name_has_the_same_default_in_every_notebook_that_declares_it():
    """Opened by hand one after the other, the notebooks chain: 03 trains the run that 04 and 05 open."""
    defaults = {}
    for path in NOTEBOOKS:
        for name, value in declared_parameters(path).items():
            defaults.setdefault(name, {})[path.name] = value
    differing = {name: values for name, values in defaults.items() if len({repr(v) for v in values.values()}) > 1}
    assert differing == {}
    assert {"run_name", "prepared_dir", "models_dir", "image_size"} <= {n for n, v in defaults.items() if len(v) > 1}


@pytest.mark.parametrize("profile", sorted(PARAMS_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_every_name_in_the_profiles_is_declared_by_a_notebook(profile):
    """The Makefile runs every profile here through the notebooks, where an undeclared name would be refused."""
    assert set(load_params(profile)) - known_parameters() == set()


@pytest.fixture
def executions(monkeypatch):
    """Calls to papermill and to training, recorded instead of run."""
    calls = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(training, "train",
                        lambda *args, **kwargs: calls.append(args) or {"run_dir": "x", "epoch": 0, "step": 0,
                                                                      "chief": True, "finished": False})
    return calls


def test_a_notebook_that_stops_is_one_line_naming_it_the_error_and_the_traceback(tmp_path, monkeypatch, capsys):
    def fails(path, out, **kwargs):
        raise papermill.PapermillExecutionError(cell_index=3, exec_count=2, source="prepare(...)", ename="ValueError",
                                                evalue="source not found: ../shared/datasets/photos",
                                                traceback=["Traceback"] * 40)

    monkeypatch.setattr(papermill, "execute_notebook", fails)
    assert main(["notebooks", "01", "--output-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "colorgan notebooks: 01_prepare_data.ipynb stopped: ValueError: source not found: ../shared/datasets/photos "
        f"(the traceback is in {tmp_path / '01_prepare_data.ipynb'})"]


def test_a_typo_in_a_profile_is_refused_with_the_known_names(tmp_path, executions, capsys):
    profile = tmp_path / "mine.yaml"
    profile.write_text("seed: 0\nepoch: 5\n")
    assert main(["notebooks", "--params", str(profile)]) == 2
    assert main(["train", "--params", str(profile)]) == 2
    assert executions == []
    for message in capsys.readouterr().err.splitlines():
        assert f"unknown parameter epoch (did you mean epochs?) in {profile}; known: " in message
        assert "run_name" in message and "sources" in message  # the names of every notebook, not one


def test_a_typo_in_an_override_is_refused(executions, capsys):
    assert main(["notebooks", "-p", "epoch=5", "03"]) == 2
    assert executions == [] and "unknown parameter epoch (did you mean epochs?) in the overrides" in capsys.readouterr().err


def test_train_passes_over_the_names_other_notebooks_declare(tmp_path, executions):
    profile = tmp_path / "mine.yaml"
    profile.write_text("sources: [photos]\nmax_images: 3\nepochs: 2\n")  # 01's and 05's names, and training's
    assert main(["train", "--params", str(profile)]) == 0
    assert executions == [({"epochs": 2},)]


@pytest.mark.slow
def test_all_notebooks_run_in_order_with_smoke_parameters():
    output_dir = BUILD_DIR / "notebooks" / "smoke"
    executed = run_notebooks(PARAMS_DIR / "smoke.yaml", output_dir=output_dir)
    assert [path.name for path in executed] == [path.name for path in NOTEBOOKS]
    for path in executed:
        notebook = _read(path)
        errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        assert notebook.metadata["papermill"]["parameters"]["seed"] == 0
    assert NOTEBOOKS_DIR.is_dir()


@pytest.mark.slow
def test_all_notebooks_run_in_order_with_their_own_defaults(tmp_path):
    """01 -> 05 as a user runs them in Jupyter (no profile) on the built-in photos: ~1 minute on a 2-core CPU.

    Only the two folders move out of the project, so the test never touches your data/ and models/.
    """
    folders = {"prepared_dir": str(tmp_path / "prepared"), "models_dir": str(tmp_path / "models")}
    executed = run_notebooks(None, output_dir=BUILD_DIR / "notebooks" / "defaults", overrides=folders)
    assert [path.name for path in executed] == [path.name for path in NOTEBOOKS]
    for path in executed:
        outputs = [o for c in _read(path).cells if c.cell_type == "code" for o in c.outputs]
        errors = [o for o in outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
        stderr = "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")
        assert "I0000" not in stderr and "cuInit" not in stderr, f"{path.name}: {stderr[:300]}"  # quiet kernels
    assert (tmp_path / "models" / "default" / "generator.keras").is_file()
    assert (tmp_path / "models" / "default" / "metrics.json").is_file()  # 05 evaluated the run 03 trained


@pytest.mark.slow
def test_notebook_02_draws_the_network_the_encoder_recipe_trains(tmp_path):
    """params/encoder.yaml's names reach 02 too: it builds the EfficientNet-Lite0 U-Net, not the paper's (~30 s)."""
    overrides = {"encoder": "efficientnet_lite0", "pretrained": False}  # random weights: no ImageNet file needed
    [executed] = run_notebooks(None, ["02"], output_dir=tmp_path / "executed", overrides=overrides)
    outputs = [o for c in _read(executed).cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}"
    text = "".join(o.get("text", "") for o in outputs)
    assert "size multiple 32" in text and "of it are the encoder's, from random weights" in text


@pytest.mark.slow
def test_notebook_04_stands_alone_with_the_shipped_generator_and_saves_your_photo(tmp_path, sample_photos):
    """No prepared folder, no run: scikit-image's samples, then a photo of one's own saved in out_dir (~45 s)."""
    import cv2

    from colorgan import images

    photo = tmp_path / "grandma.png"
    cv2.imwrite(str(photo), cv2.cvtColor(sample_photos["astronaut"][:300, :200], cv2.COLOR_RGB2GRAY))
    folders = {"prepared_dir": str(tmp_path / "nothing"), "models_dir": str(tmp_path / "no_models"),
               "photo_path": str(photo), "out_dir": str(tmp_path / "colorized")}
    [executed] = run_notebooks(None, ["04"], output_dir=tmp_path / "executed", overrides=folders)
    text = "".join(o.get("text", "") for c in _read(executed).cells if c.cell_type == "code" for o in c.outputs)
    assert "model: " + str(shipped.SHIPPED_GENERATOR) in text and "photos: scikit-image samples" in text
    saved = images.read_rgb(tmp_path / "colorized" / "grandma.png")
    assert saved.shape == (300, 200, 3)
    assert np.abs(saved[..., 0].astype(int) - saved[..., 2].astype(int)).mean() > 2  # color, not gray
