"""Run the numbered notebooks headless with papermill, in pipeline order, with a parameter profile.

Used by ``make train`` / ``make demo`` (through ``colorgan notebooks``) and by the test harness,
so the notebooks run the same way everywhere. Executed copies go to ``build/notebooks/<profile>/``.
"""

import time
from pathlib import Path

import yaml

from colorgan.paths import BUILD_DIR, NOTEBOOKS_DIR, resolve


def notebook_paths(selection=None):
    """The notebooks in pipeline order; ``selection`` filters by number prefix ("01") or name."""
    paths = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    if selection:
        wanted = list(selection)
        paths = [p for p in paths if any(p.name.startswith(w) or p.stem == w for w in wanted)]
        missing = [w for w in wanted if not any(p.name.startswith(w) or p.stem == w for p in paths)]
        if missing:
            raise ValueError(f"no notebook matches {missing} in {NOTEBOOKS_DIR}")
    return paths


def load_params(params_file):
    """A papermill parameter profile (flat YAML mapping shared by all notebooks)."""
    params_file = resolve(params_file)
    if not params_file.is_file():
        raise ValueError(f"parameter file not found: {params_file}")
    params = yaml.safe_load(params_file.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{params_file} must hold a mapping of parameter names to values")
    return params


def run_notebooks(params_file, selection=None, output_dir=None, overrides=None, log_output=False):
    """Execute notebooks in order with papermill; return the executed copies' paths.

    Stops at the first notebook that fails (papermill raises PapermillExecutionError naming
    the cell), so a later stage never runs on a broken earlier one.
    """
    import papermill

    params = {**load_params(params_file), **(overrides or {})}
    output_dir = Path(output_dir) if output_dir else BUILD_DIR / "notebooks" / Path(params_file).stem
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = []
    for path in notebook_paths(selection):
        start = time.perf_counter()
        print(f"[colorgan] running {path.name} with {params_file}", flush=True)
        out = output_dir / path.name
        papermill.execute_notebook(str(path), str(out), parameters=params, cwd=str(NOTEBOOKS_DIR),
                                   kernel_name="python3", log_output=log_output, progress_bar=False)
        print(f"[colorgan] {path.name} done in {time.perf_counter() - start:.1f} s -> {out}", flush=True)
        executed.append(out)
    return executed
