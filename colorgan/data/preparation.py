"""Placeholder: dataset preparation lands in the next commit."""


def prepare(sources, out, size=256, val_fraction=0.05, seed=0, workers=None):
    raise NotImplementedError("colorgan.data.prepare is being written (issue 3)")
