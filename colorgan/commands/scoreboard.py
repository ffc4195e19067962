"""Compare generators on the same held-out photos: a Markdown table (gray first) and one picture.

Each generator is given as LABEL=PATH (a generator.keras inside its run folder) or as a recipe file
(``params/recipes/<name>.yaml``: its label, and the run ``colorgan train --recipe`` trains from it); its
CPU-minutes come from the run's history.csv, its gain and working size from the run's calibration.
Example: ``colorgan scoreboard --data ../shared/datasets/photos/bsds500-test params/recipes/l1.yaml
"classification=models/cpu/generator.keras"``.
"""

import json
import sys

from colorgan.paths import BUILD_DIR, from_cwd

HELP = "compare generators on held-out photos beside gray: scoreboard.md, scoreboard.json and scoreboard.jpg"


def add_arguments(parser):
    parser.add_argument("entries", nargs="+", metavar="LABEL=PATH|RECIPE",
                        help="a label and a generator .keras file, or a recipe file (params/recipes/*.yaml)")
    parser.add_argument("--data", required=True, metavar="DIR", help="held-out color photos no run trained on")
    parser.add_argument("--out", default=str(BUILD_DIR / "scoreboard"), metavar="DIR",
                        help="folder for scoreboard.md, scoreboard.json and scoreboard.jpg (default: build/scoreboard)")
    parser.add_argument("--picture-photos", type=int, default=8, help="photos in the picture (default: 8)")


def run(args):
    from tqdm import tqdm  # here, as every command's heavy imports (cli): --help answers at once

    from colorgan import evaluate, recipes, scoreboard

    try:
        entries = []
        for item in args.entries:
            if item.endswith((".yaml", ".yml")) and "=" not in item:
                entries.append(recipes.entry(from_cwd(item)))
                continue
            label, sep, path = item.partition("=")
            if not sep or not label.strip():
                raise ValueError(f"expected LABEL=PATH, got {item!r}")
            entries.append((label.strip(), from_cwd(path)))
        photos = evaluate.list_photos(from_cwd(args.data))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    out = from_cwd(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tqdm(total=len(photos) * len(entries), unit="photo", desc="scoring") as progress:
        rows = scoreboard.score(entries, photos, progress=progress.update)
    table = scoreboard.markdown(rows)
    (out / "scoreboard.md").write_text(f"{rows[0]['n_images']} held-out photos from {from_cwd(args.data)}\n\n"
                                       + table + "\n")
    (out / "scoreboard.json").write_text(json.dumps(rows, indent=2) + "\n")
    scoreboard.picture(entries, photos, out / "scoreboard.jpg", count=min(args.picture_photos, len(photos)))
    print(table)
    print(f"-> {out}/scoreboard.md, scoreboard.json, scoreboard.jpg")
    return 0
