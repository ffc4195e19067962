"""The scoreboard: several generators on the same held-out photos, gray first, as a table and one picture.

Each row is ``colorgan.evaluate`` on the same photos (each generator at its run's calibrated gain
and working size), plus the CPU-minutes its run trained for (``cpu_minutes`` of its history.csv). The
picture shows the same photos as columns: gray, then one row per generator, then the truth.
"""

from pathlib import Path

from colorgan import colorizers, evaluate, images, inference, plots, runs

COLUMNS = ("PSNR", "CIEDE2000", "colorfulness (truth)", "ab explained", "CPU-min")


def score(entries, photo_paths, progress=None):
    """``entries``: [(label, generator path)] -> rows [{"label", "psnr", ...}], gray's row first."""
    rows, gray = [], None
    for label, path in entries:
        colorizer = colorizers.load(path)
        result = evaluate.evaluate(colorizer, photo_paths, progress=progress)
        if gray is None:
            gray = {"label": "leave it gray", "psnr": result["gray"]["psnr"], "ciede2000": result["gray"]["ciede2000"],
                    "colorfulness": 0.0, "truth": result["real_colorfulness"], "ab_explained": 0.0, "gain": 0.0,
                    "working_size": 0, "cpu_minutes": 0.0, "n_images": result["n_images"]}
            rows.append(gray)
        try:
            minutes = float(runs.read_history(path)["cpu_minutes"][-1])
        except (runs.RunError, KeyError, IndexError):
            minutes = None  # not a run folder (e.g. the shipped generator): no training history
        rows.append({"label": label, "psnr": result["model"]["psnr"], "ciede2000": result["model"]["ciede2000"],
                     "colorfulness": result["model"]["colorfulness"], "truth": result["real_colorfulness"],
                     "ab_explained": result["ab_explained"], "gain": colorizer.gain,
                     "working_size": colorizer.working_size, "cpu_minutes": minutes,
                     "n_images": result["n_images"]})
    return rows


def _minutes(value):
    return f"{value:.1f}" if value else "-"  # gray trains nothing; a file outside a run has no history


def markdown(rows):
    """The rows as a Markdown table (the README's scoreboard)."""
    lines = ["| recipe | PSNR (dB) | CIEDE2000 | colorfulness (truth) | ab variance explained | gain | working size "
             "| CPU-minutes |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        gain = f"{row['gain']:g}" if row["working_size"] else "-"  # exact (1.6875); none for gray
        lines.append(f"| {row['label']} | {row['psnr']:.2f} | {row['ciede2000']:.2f} | "
                     f"{row['colorfulness']:.1f} ({row['truth']:.1f}) | {row['ab_explained']:.3f} | "
                     f"{gain} | {row['working_size'] or '-'} | {_minutes(row['cpu_minutes'])} |")
    return "\n".join(lines)


def picture(entries, photo_paths, path, count=8, seed=0):
    """The same ``count`` photos (a seeded choice) as columns: gray, each generator, truth. Saved to ``path``."""
    chosen = evaluate.seeded_subset(photo_paths, count, seed)
    truths = [images.read_rgb(photo) for photo in chosen]
    grays = [evaluate.gray_version(photo) for photo in truths]
    rows, titles = [grays], ["gray input"]
    for label, model_path in entries:
        rows.append(inference.colorize_batch(colorizers.load(model_path), grays))
        titles.append(label)
    rows.append(truths)
    titles.append("truth")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return plots.image_grid(rows, row_titles=titles, cell_size=2.2, path=path)
