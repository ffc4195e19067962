"""Folders a run validates on whole (``extra_val_dirs``): prepared with val_fraction 1, scored and calibrated on,
never trained on, and refused when a run would also train on them."""

import json

import numpy as np
import pytest
from PIL import Image

from colorgan import calibration, models, runs, training
from colorgan.config import resolve_config
from colorgan.data import list_images, prepare
from colorgan.data.layout import count_source_files, validation_originals


def _photos(sample_photos, folder, count=5):
    """``count`` distinct 64 x 96 color crops of the scikit-image samples, saved as PNG in ``folder``."""
    folder.mkdir(parents=True)
    source = sample_photos["astronaut"]
    for i in range(count):
        Image.fromarray(np.ascontiguousarray(source[40 * i:40 * i + 64, 30 * i:30 * i + 96])).save(folder / f"{i}.png")
    return folder


@pytest.fixture
def folders(tmp_path, sample_photos):
    main = tmp_path / "main"
    prepare([], main, size=32, val_fraction=0.3, workers=1, progress=False)  # the 9 samples, some in val
    held = tmp_path / "held"
    summary = prepare([_photos(sample_photos, tmp_path / "scenes")], held, size=32, val_fraction=1.0, workers=1,
                      progress=False)
    return main, held, summary


def test_val_fraction_1_prepares_a_folder_to_validate_on_only(folders, tmp_path):
    _, held, summary = folders
    assert (summary["train"], summary["val"]) == (0, 5)
    assert list_images(held, "train") == [] and len(list_images(held, "val")) == 5
    with pytest.raises(ValueError, match=r"val_fraction must be in \[0, 1\]"):
        prepare([], tmp_path / "other", size=32, val_fraction=1.5, workers=1, progress=False)


def test_a_runs_extra_val_dirs_join_validation_and_calibration_and_never_training(folders, tmp_path):
    main, held, _ = folders
    main_val, main_train = len(list_images(main, "val")), len(list_images(main, "train"))
    assert main_val >= 1 and main_train >= 1
    config = resolve_config(prepared_dir=str(main), extra_val_dirs=[str(held)], image_size=32, batch_size=64,
                            working_size_factors=[1])
    train, val = training.make_datasets(config)
    assert sum(int(lightness.shape[0]) for lightness, _ in val) == main_val + 5
    assert sum(int(lightness.shape[0]) for lightness, _ in train) == main_train  # none of the held photos

    photos = validation_originals(main, [held])
    assert len(photos) == main_val + 5
    held_sources = [photo for photo in photos if photo.parent == tmp_path / "scenes"]
    assert sorted(photo.name for photo in held_sources) == [f"{i}.png" for i in range(5)]  # the originals
    assert Image.open(held_sources[0]).size == (96, 64)  # at their own size, not the prepared 32 px
    assert count_source_files(photos, [main, held]) == main_val + 5  # every source file is still there
    (tmp_path / "scenes" / "0.png").unlink()  # gone: its prepared copy stands in, and is not counted
    photos = validation_originals(main, [held])
    assert len(photos) == main_val + 5 and sum(photo.is_relative_to(held) for photo in photos) == 1
    assert count_source_files(photos, [main, held]) == main_val + 4

    run = tmp_path / "run"
    run.mkdir()
    generator = models.build_generator(32, 8)
    generator.get_layer("output_conv").bias.assign([0.2, 0.1])
    generator.save(run / runs.GENERATOR_NAME)
    calibration.calibrate(run, config, verbose=0)
    saved = json.loads((run / "color_gain.json").read_text())
    assert (saved["photos"], saved["originals"]) == (main_val + 5, main_val + 4)


def test_a_folder_both_trained_and_validated_on_is_refused_by_name(folders):
    main, held, _ = folders
    with pytest.raises(ValueError, match="held.*also trained on"):
        resolve_config(prepared_dir=str(main), extra_train_dirs=[str(held)], extra_val_dirs=[str(held)])
    with pytest.raises(ValueError, match="main.*also trained on"):
        resolve_config(prepared_dir=str(main), extra_val_dirs=[str(main)])
    assert resolve_config(prepared_dir=str(main), extra_val_dirs=[str(held)])["extra_val_dirs"] == [str(held)]
