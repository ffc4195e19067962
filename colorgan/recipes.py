"""Scoreboard recipes: one file each in ``params/recipes/``, the one place a recipe is written down.

A recipe is a YAML mapping: ``label`` (its row on the scoreboard), ``profile`` (the parameter profile it
starts from, ``params/cpu.yaml``) and ``overrides`` (training parameters, ``colorgan.config``'s names).
Its run is ``<models_dir>/sb_<file name>``: ``colorgan train --recipe FILE`` trains into it and
``colorgan scoreboard FILE`` reads its ``generator.keras`` from it, both through ``parameters`` below.
"""

from pathlib import Path

import yaml

from colorgan import runs
from colorgan.config import DEFAULTS, resolve_config
from colorgan.notebooks import load_params
from colorgan.paths import PARAMS_DIR, resolve

RECIPES_DIR = PARAMS_DIR / "recipes"
KEYS = {"label", "profile", "overrides"}


def read_recipe(path):
    """The recipe file at ``path`` as {"label", "profile", "overrides"}; ValueError naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"recipe not found: {path}")
    recipe = yaml.safe_load(path.read_text()) or {}
    if not isinstance(recipe, dict) or set(recipe) != KEYS:
        raise ValueError(f"{path}: a recipe is a mapping of exactly {sorted(KEYS)}")
    unknown = sorted(set(recipe["overrides"] or {}) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{path}: unknown training parameters {unknown}")
    return recipe


def run_name(path):
    """The run a recipe trains: ``sb_<file name>``."""
    return f"sb_{Path(path).stem}"


def parameters(path):
    """The training parameters of the recipe at ``path``: its profile's training names, its overrides, its run."""
    recipe = read_recipe(path)
    profile = load_params(resolve(recipe["profile"]))
    return {**{name: value for name, value in profile.items() if name in DEFAULTS}, **(recipe["overrides"] or {}),
            "run_name": run_name(path)}


def entry(path):
    """(label, generator.keras path) of the recipe at ``path``: the scoreboard's row for the run it trains."""
    return read_recipe(path)["label"], runs.run_dir(resolve_config(parameters(path))) / runs.GENERATOR_NAME
