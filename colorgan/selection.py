"""Which epoch becomes ``generator.keras``: the selection rule, and the stage that records its choice.

The rule reads the color monitor's validation figures of each epoch (``history.csv``). An epoch's
weights exist only while it is trained, so the export callback applies the rule as each epoch ends
(``callbacks.GeneratorExport``: it keeps the best so far); ``select`` is the stage after training that
finds the same epoch from ``history.csv`` and records it in ``selection.json``.
"""

import json

from colorgan import runs
from colorgan.config import DEFAULTS, read_run_config

MIN_COLORFULNESS_RATIO = DEFAULTS["min_colorfulness_ratio"]
# What selection.json records as the rule (its one home: rewording a docstring changes no run's record).
RULE = ("Only epochs of the run's last phase compete (after any generator-only warm-up and critic pre-training, "
        "when the run has an adversarial phase; every epoch otherwise). Among them an epoch whose colorfulness "
        "reaches min_colorfulness_ratio of the real photos' is colorful; the best colorful epoch by PSNR wins, and "
        "only when no epoch is colorful, the best by PSNR. Validation L1 alone is never the rule: it rewards the "
        "sepia average.")


def score(psnr, colorfulness, truth_colorfulness, min_ratio=MIN_COLORFULNESS_RATIO):
    """A sortable score: (is colorful enough, PSNR). Higher is better."""
    return (bool(colorfulness >= min_ratio * truth_colorfulness), float(psnr))


def better(candidate, incumbent):
    """Is ``candidate``'s score better than ``incumbent``'s (None: nothing chosen yet)?"""
    return incumbent is None or tuple(candidate) > tuple(incumbent)


def first_competing_epoch(config):
    """The first 0-based epoch that competes: the last phase's first one when an adversarial phase follows the
    generator-only warm-up and critic pre-training (they are preparation for it), else 0."""
    preparation = int(config["warmup_epochs"]) + int(config["critic_epochs"])
    return preparation if preparation < int(config["epochs"]) else 0


def choose_epoch(history, first_epoch=0, min_ratio=MIN_COLORFULNESS_RATIO):
    """The 0-based epoch the rule picks from a history ({column: array}, ``val_psnr``,
    ``val_colorfulness``, ``val_colorfulness_truth``), considering epochs >= ``first_epoch``."""
    best, chosen = None, None
    for epoch in range(first_epoch, len(history["val_psnr"])):
        candidate = score(history["val_psnr"][epoch], history["val_colorfulness"][epoch],
                          history["val_colorfulness_truth"][epoch], min_ratio)
        if better(candidate, best):
            best, chosen = candidate, epoch
    return chosen


def select(folder, verbose=1):
    """Record which epoch ``generator.keras`` of the run in ``folder`` is, by the rule, in selection.json.

    Returns the record: {"epoch" (1-based), "of", "val_psnr", "val_colorfulness", "val_colorfulness_truth",
    "colorful", "rule"}.
    """
    folder = runs.folder_of(folder)
    config = read_run_config(folder)
    history = runs.read_history(folder)
    epoch = choose_epoch(history, first_competing_epoch(config), config["min_colorfulness_ratio"])
    if epoch is None:
        raise runs.RunError(f"{folder / runs.HISTORY_NAME}: no epoch of the run's last phase to choose from")
    figures = {name: float(history[name][epoch]) for name in ("val_psnr", "val_colorfulness",
                                                              "val_colorfulness_truth")}
    colorful, _ = score(figures["val_psnr"], figures["val_colorfulness"], figures["val_colorfulness_truth"],
                        config["min_colorfulness_ratio"])
    record = {"epoch": epoch + 1, "of": len(history["val_psnr"]), **figures, "colorful": colorful, "rule": RULE}
    (folder / runs.SELECTION_NAME).write_text(json.dumps(record, indent=2) + "\n")
    if verbose:
        kind = "colorful enough" if record["colorful"] else "no epoch was colorful enough: the best PSNR"
        print(f"[colorgan] {folder.name}: generator.keras is epoch {record['epoch']} of {record['of']} "
              f"(PSNR {figures['val_psnr']:.2f} dB, colorfulness {figures['val_colorfulness']:.1f} of the real "
              f"{figures['val_colorfulness_truth']:.1f}; {kind})", flush=True)
    return record

