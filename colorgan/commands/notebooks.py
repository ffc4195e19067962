"""Run the numbered notebooks headless with papermill, in order, with a parameter profile.

Example: ``colorgan notebooks --params params/train.yaml 01 02 03`` (what ``make train`` runs).
"""

HELP = "run notebooks headless with papermill and a params/<profile>.yaml"


def add_arguments(parser):
    parser.add_argument("notebooks", nargs="*", help="numbers or names to run (default: all, in order)")
    parser.add_argument("--params", required=True, help="parameter profile, e.g. params/demo.yaml")
    parser.add_argument("-p", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one parameter (YAML value), e.g. -p epochs=5")
    parser.add_argument("--output-dir", help="where executed copies go (default: build/notebooks/<profile>)")


def run(args):
    import yaml

    from colorgan.notebooks import run_notebooks

    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
        overrides[name] = yaml.safe_load(value)
    run_notebooks(args.params, args.notebooks or None, args.output_dir, overrides, log_output=True)
    return 0
