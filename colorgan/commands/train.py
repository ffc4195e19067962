"""Train (or resume) a pix2pix colorizer run: the same code as notebook 03, from the command line.

Parameters come from a profile (``--params params/train.yaml``), then ``-p name=value`` overrides
(values parsed as YAML: ``-p epochs=5 -p xla=true``). Starting a run whose folder holds a checkpoint
resumes it. The prepared folder must exist (``colorgan prepare`` or notebook 01).
Example: ``colorgan train --params params/train.yaml --run-name photos256``.
"""

HELP = "train or resume a run into models/<run_name>/ (the code of notebook 03)"


def add_arguments(parser):
    parser.add_argument("--params", help="a parameter profile (YAML), e.g. params/train.yaml")
    parser.add_argument("--prepared-dir", help="prepared dataset folder (overrides the profile)")
    parser.add_argument("--run-name", help="run folder name under models_dir (overrides the profile)")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (repeatable)")


def parameters(args):
    """Profile, then --prepared-dir/--run-name, then -p overrides; only the names training knows."""
    import yaml

    from colorgan.notebooks import load_params
    from colorgan.training import DEFAULTS

    params = load_params(args.params) if args.params else {}
    params = {name: value for name, value in params.items() if name in DEFAULTS}  # profiles serve all notebooks
    if args.prepared_dir:
        params["prepared_dir"] = args.prepared_dir
    if args.run_name:
        params["run_name"] = args.run_name
    for item in args.parameter:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"-p expects NAME=VALUE, got {item!r}")
        params[name.strip()] = yaml.safe_load(value)
    return params


def run(args):
    from colorgan import training

    try:
        outcome = training.train(parameters(args))
    except training.TrainingDiverged as error:
        print(f"error: {error}")
        return 1
    print(f"[colorgan] {outcome['run_dir']}: epoch {outcome['epoch']}, step {outcome['step']}")
    return 0
