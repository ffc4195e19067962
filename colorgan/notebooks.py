"""Run the numbered notebooks headless with papermill, in pipeline order, with a parameter profile.

Used by ``make train`` / ``make demo`` (through ``colorgan notebooks``) and by the test harness,
so the notebooks run the same way everywhere. Executed copies go to ``build/notebooks/<profile>/``.
A profile is one flat mapping shared by all notebooks, so the names it may hold are the ones some
notebook declares in its ``parameters`` cell; any other name is a typo and is refused.
"""

import ast
import difflib
import json
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


def declared_parameters(path):
    """{name: default value} of a notebook's one cell tagged ``parameters`` (literals, as papermill needs)."""
    cells = [cell for cell in json.loads(Path(path).read_text())["cells"]
             if "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{Path(path).name} has {len(cells)} cells tagged 'parameters', expected exactly 1")
    source = "".join(cells[0]["source"])
    return {target.id: ast.literal_eval(statement.value)
            for statement in ast.parse(source).body if isinstance(statement, ast.Assign)
            for target in statement.targets}


def known_parameters():
    """Every name some notebook declares: what a parameter profile may hold."""
    return set().union(*(declared_parameters(path) for path in notebook_paths()))


def check_parameters(params, known, where):
    """Raise ValueError naming each of ``params`` that is not in ``known`` (a close known name as a hint)."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        named = [name + "".join(f" (did you mean {match}?)" for match in difflib.get_close_matches(name, known, 1))
                 for name in unknown]
        raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(named)} in {where}; "
                         f"known: {', '.join(sorted(known))}")


def load_params(params_file):
    """A papermill parameter profile (flat YAML mapping shared by all notebooks)."""
    params_file = resolve(params_file)
    if not params_file.is_file():
        raise ValueError(f"parameter file not found: {params_file}")
    params = yaml.safe_load(params_file.read_text()) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{params_file} must hold a mapping of parameter names to values")
    return params


# A kernel is a process of its own: keep its start-up warnings and TensorFlow's C++ logs quiet there too.
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL",
                "--IPKernelApp.exec_lines=from colorgan import quiet; quiet.quiet_tensorflow()"]


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error; the message is one line (the full traceback is in its executed copy)."""


class TalkingLines:
    """A file-like papermill writes the kernel's stdout to: lines that start with ``[colorgan]`` (the
    epoch lines of training, a run resuming, the calibrated gain) go on to ``stream`` as they come;
    the rest (configs, shapes) stays in the executed notebook only."""

    PREFIX = "[colorgan]"

    def __init__(self, stream):
        self.stream, self.pending = stream, ""

    def write(self, text):
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.startswith(self.PREFIX):
                self.stream.write(line + "\n")

    def flush(self):
        self.stream.flush()


def run_notebooks(params_file=None, selection=None, output_dir=None, overrides=None, stream=None, quiet=True):
    """Execute notebooks in order with papermill; return the executed copies' paths.

    ``params_file=None`` runs them with their own defaults (and ``overrides``), as by hand in Jupyter.
    Each notebook gets the names it declares. Stops at the first notebook that fails (papermill raises
    PapermillExecutionError naming the cell), so a later stage never runs on a broken earlier one.
    ``stream`` (e.g. sys.stdout) receives the kernels' ``[colorgan]`` lines as they are printed
    (``TalkingLines``): training's line per epoch. ``quiet=False`` lets the kernels print TensorFlow's
    start-up logs (``colorgan --verbose``).

    Raises:
        ValueError: for a name in the profile or ``overrides`` that no notebook declares.
        NotebookFailed: a notebook stopped with an error (one line: the notebook, the error, where the traceback is).
    """
    import papermill  # here: it loads Jupyter's client and nbformat, which listing the parameters does not need

    profile, overrides, known = load_params(params_file) if params_file else {}, overrides or {}, known_parameters()
    check_parameters(profile, known, where=str(params_file))
    check_parameters(overrides, known, where="the overrides")
    params = {**profile, **overrides}
    output_dir = Path(output_dir) if output_dir else \
        BUILD_DIR / "notebooks" / (Path(params_file).stem if params_file else "defaults")
    output_dir.mkdir(parents=True, exist_ok=True)
    executed = []
    for path in notebook_paths(selection):
        start = time.perf_counter()
        print(f"[colorgan] running {path.name} with {params_file or 'its own parameters'}", flush=True)
        out = output_dir / path.name
        declared = declared_parameters(path)
        try:
            papermill.execute_notebook(str(path), str(out), cwd=str(NOTEBOOKS_DIR), kernel_name="python3",
                                       parameters={name: value for name, value in params.items() if name in declared},
                                       stdout_file=TalkingLines(stream) if stream else None, progress_bar=False,
                                       extra_arguments=QUIET_KERNEL if quiet else [])
        except papermill.PapermillExecutionError as error:
            raise NotebookFailed(f"{path.name} stopped: {error.ename}: {error.evalue} "
                                 f"(the traceback is in {out})") from None
        print(f"[colorgan] {path.name} done in {time.perf_counter() - start:.1f} s -> {out}", flush=True)
        executed.append(out)
    return executed
