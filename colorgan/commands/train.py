"""Train (or resume) a pix2pix colorizer run, then choose its epoch and calibrate it: notebook 03's stages.

Parameters come from a profile (``--params params/train.yaml``) or a scoreboard recipe (``--recipe
params/recipes/l1.yaml``: its profile, its overrides, its run ``sb_l1``), then ``-p name=value`` overrides
(values parsed as YAML: ``-p epochs=5 -p xla=true``); a name neither training nor any notebook knows is
refused with the list of known ones. Starting a run whose folder holds a checkpoint resumes it. The prepared folder must exist (``colorgan prepare`` or notebook 01).
When the last epoch is done, ``colorgan select`` and ``colorgan calibrate`` run on the run folder.
Example: ``colorgan train --params params/train.yaml --run-name photos256``.

On several machines, run the same command on each: with ``TF_CONFIG`` describing the cluster, or with
``--cluster slurm`` under ``srun`` (see ``colorgan.distribute``); ``batch_size`` is then the global batch.
"""

HELP = "train (or resume) a generator on a prepared folder, into models/<run_name>/"


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--params", help="a parameter profile (YAML), e.g. params/train.yaml")
    source.add_argument("--recipe", help="a scoreboard recipe (YAML), e.g. params/recipes/l1.yaml: trains its run")
    parser.add_argument("--prepared-dir", help="prepared dataset folder (overrides the profile)")
    parser.add_argument("--run-name", help="run folder name under models_dir (overrides the profile)")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (repeatable)")
    parser.add_argument("--cluster", choices=("auto", "slurm"), default="auto",
                        help="auto: the cluster TF_CONFIG describes, else this machine; slurm: the tasks of this "
                             "srun job step")


def parameters(args):
    """Profile (or recipe), then --prepared-dir/--run-name, then -p overrides; only the names training knows.

    Profiles serve all notebooks: a name some notebook declares is passed over, any other is refused.
    """
    import yaml

    from colorgan import recipes
    from colorgan.config import DEFAULTS
    from colorgan.notebooks import check_parameters, known_parameters, load_params
    from colorgan.paths import from_cwd

    params = load_params(from_cwd(args.params)) if args.params else {}
    check_parameters(params, known_parameters() | set(DEFAULTS), where=args.params)
    params = {name: value for name, value in params.items() if name in DEFAULTS}
    if args.recipe:
        params = recipes.parameters(from_cwd(args.recipe))
    if args.prepared_dir:
        params["prepared_dir"] = str(from_cwd(args.prepared_dir))  # typed: relative to the current folder
    if args.run_name:
        params["run_name"] = args.run_name
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"-p expects NAME=VALUE, got {item!r}")
        params[name.strip()] = yaml.safe_load(value)
    return params


def run(args):
    import sys

    from colorgan import distribute, training

    try:
        outcome = training.train(parameters(args), cluster=args.cluster)
        after_training(outcome)
    except (training.TrainingDiverged, distribute.WorkerLost) as error:
        print(f"error: {error}")
        return 1
    except ValueError as error:  # an unknown or invalid parameter, a missing prepared folder, an unreadable run file
        print(f"colorgan train: {error}", file=sys.stderr)
        return 2
    where = outcome["run_dir"] if outcome.get("chief", True) else "a worker (the chief writes the run folder)"
    print(f"[colorgan] {where}: epoch {outcome['epoch']}, step {outcome['step']}")
    return 0


def after_training(outcome):
    """The stages after ``fit``, on the chief, once the run's last epoch is done: which epoch generator.keras is
    (``selection``), then its color strength (``calibration``, unless the config says ``calibrate: false``)."""
    from colorgan import calibration, runs, selection

    folder = outcome["run_dir"]
    if not (outcome["chief"] and outcome["finished"] and (folder / runs.GENERATOR_NAME).is_file()):
        return
    selection.select(folder)
    if outcome["config"]["calibrate"]:
        calibration.calibrate(folder, outcome["config"])
