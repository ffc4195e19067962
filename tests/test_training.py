"""Training runs: the run folder, exports that reload, resume after SIGKILL, a NaN that stops the run."""

import json
import os
import signal
import subprocess
import sys
import time

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from colorgan import checkpoint, training
from colorgan.config import resolve_config

TINY = {"image_size": 32, "base_filters": 8, "batch_size": 2, "epochs": 2, "steps_per_epoch": 2, "sample_count": 2,
        "precision": "float32"}  # the same numbers on every CPU (bfloat16 and float16 have tests of their own)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, sample_photos):
    """A small prepared folder (contract 1 layout): 5 train and 2 val photos, short side 40."""
    folder = tmp_path_factory.mktemp("prepared")
    for index, (name, photo) in enumerate(sorted(sample_photos.items())):
        split = folder / ("val" if index >= 5 else "train")
        split.mkdir(exist_ok=True)
        cv2.imwrite(str(split / f"{name}.png"), cv2.resize(photo, (40, 40))[..., ::-1])
    return folder


def tiny_config(prepared, models_dir, **overrides):
    return {**TINY, "prepared_dir": str(prepared), "models_dir": str(models_dir), "run_name": "tiny", **overrides}


def test_a_run_writes_its_folder_and_the_generator_reloads(prepared, tmp_path):
    outcome = training.train(tiny_config(prepared, tmp_path), verbose=0)
    folder = tmp_path / "tiny"
    assert outcome["run_dir"] == folder and outcome["epoch"] == 2 and outcome["step"] == 4
    config = json.loads((folder / "config.json").read_text())
    assert {"run_name", "image_size", "prepared_dir", "base_filters", "seed"} <= set(config)
    assert config["image_size"] == 32
    assert sorted(p.name for p in (folder / "samples").glob("*.png")) == ["epoch_0001.png", "epoch_0002.png"]
    assert any((folder / "logs").rglob("events.out.tfevents*"))
    history = (folder / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and "val_l1" in history[0] and len(history) == 3
    assert checkpoint.read_meta(folder / "checkpoint" / checkpoint.CHECKPOINT_NAME)["epoch"] == 2

    lightness = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    last = keras.models.load_model(folder / "generator_last.keras")
    np.testing.assert_allclose(last(lightness).numpy(), outcome["model"].generator(lightness).numpy(), atol=1e-6)
    best = keras.models.load_model(folder / "generator.keras")
    assert best.output_shape == (None, None, None, 2)


def test_starting_the_same_run_again_continues_it(prepared, tmp_path):
    training.train(tiny_config(prepared, tmp_path, sample_every=5), verbose=0)
    # Grids every 5 epochs, and always one after the last epoch.
    assert [p.name for p in (tmp_path / "tiny" / "samples").glob("*.png")] == ["epoch_0002.png"]
    outcome = training.train(tiny_config(prepared, tmp_path, epochs=3), verbose=0)
    assert (outcome["initial_epoch"], outcome["epoch"], outcome["step"]) == (2, 3, 6)
    assert len((tmp_path / "tiny" / "history.csv").read_text().splitlines()) == 4  # header + 3 epochs, appended


def test_resuming_with_another_architecture_is_refused(prepared, tmp_path):
    training.train(tiny_config(prepared, tmp_path, epochs=1), verbose=0)
    with pytest.raises(ValueError, match="base_filters"):
        training.train(tiny_config(prepared, tmp_path, base_filters=4), verbose=0)


def test_unknown_parameters_are_refused():
    with pytest.raises(ValueError, match="unknown training parameters"):
        resolve_config({"learning_rate": 1e-3})


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_mixed_precision_run_exports_a_float32_generator(prepared, tmp_path, precision):
    training.train(tiny_config(prepared, tmp_path, epochs=1, precision=precision), verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    generator = keras.models.load_model(tmp_path / "tiny" / "generator_last.keras")
    assert {layer.compute_dtype for layer in generator.layers if layer.weights} == {"float32"}


def test_build_pix2pix_computes_in_the_configs_precision():
    model = training.build_pix2pix({**TINY, "precision": "bfloat16"})
    assert model.generator.get_layer("down_2_conv").compute_dtype == "bfloat16"
    assert model.generator.get_layer("down_2_conv").kernel.dtype == "float32"  # weights stay float32
    assert model.generator.output.dtype == "float32" and keras.config.dtype_policy().name == "float32"
    assert not isinstance(model.generator_optimizer, keras.optimizers.LossScaleOptimizer)  # bf16 needs none
    float16 = training.build_pix2pix({**TINY, "precision": "float16"})
    assert isinstance(float16.generator_optimizer, keras.optimizers.LossScaleOptimizer)


def test_a_run_records_the_color_monitor_and_calibrates_its_strength(prepared, tmp_path):
    from colorgan import colorizers, runs, selection
    from colorgan.commands.train import after_training

    outcome = training.train(tiny_config(prepared, tmp_path, objective="classification", warmup_epochs=2,
                                         ema_decay=0.9), verbose=0)
    folder = tmp_path / "tiny"
    assert not (folder / runs.GAIN_NAME).exists()  # training stops at fit
    after_training(outcome)  # what colorgan train runs next: selection, then calibration
    history = runs.read_history(folder)
    for name in ("val_psnr", "val_psnr_gray", "val_ciede2000", "val_colorfulness", "val_colorfulness_truth",
                 "val_ab_explained", "cpu_minutes"):
        assert len(history[name]) == 2 and np.isfinite(history[name]).all(), name
    assert history["cpu_minutes"][1] > history["cpu_minutes"][0] > 0
    strength = json.loads((folder / runs.GAIN_NAME).read_text())
    assert strength["gain"] in [row["gain"] for row in strength["table"]] and strength["photos"] == 2
    assert {row["working_size"] for row in strength["table"]} == {32, 48, 64, 80, 96, 112, 128}  # 1x to 4x
    colorizer = colorizers.load(folder / runs.GENERATOR_NAME)
    assert colorizer.gain == strength["gain"] and colorizer.working_size == strength["working_size"]
    chosen = json.loads((folder / runs.SELECTION_NAME).read_text())
    assert chosen["epoch"] == selection.choose_epoch(history) + 1 and chosen["of"] == 2  # every epoch competes


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(prepared, tmp_path):
    config = tiny_config(prepared, tmp_path, epochs=3)
    good = next(iter(training.make_datasets(resolve_config(config))[0]))
    lightness, ab = good
    poisoned = (tf.fill(tf.shape(lightness), float("nan")), ab)
    # Epoch 1 (2 steps) is fine, epoch 2 meets a NaN input.
    train_data = tf.data.Dataset.from_tensors(good).repeat(2).concatenate(tf.data.Dataset.from_tensors(poisoned).repeat())
    val_data = tf.data.Dataset.from_tensors(good)
    with pytest.raises(training.TrainingDiverged, match=r"non-finite loss at epoch 2, batch 1.*last good checkpoint "
                                                        r"\(epoch 1\) is kept"):
        training.train(config, datasets=(train_data, val_data), verbose=0)
    state = tmp_path / "tiny" / "checkpoint" / checkpoint.CHECKPOINT_NAME
    assert checkpoint.read_meta(state)["epoch"] == 1 and checkpoint.read_meta(state)["step"] == 2
    with np.load(state) as archive:
        assert all(np.isfinite(archive[key]).all() for key in archive.files if key.startswith("generator/"))
    generator = keras.models.load_model(tmp_path / "tiny" / "generator_last.keras")
    assert np.isfinite(generator(np.zeros((1, 32, 32, 1), "float32")).numpy()).all()


def test_a_run_killed_with_sigkill_resumes_from_its_checkpoint(prepared, tmp_path):
    config = tiny_config(prepared, tmp_path, epochs=1000, steps_per_epoch=3, sample_every=1000)
    command = [sys.executable, "-m", "colorgan", "train", "--prepared-dir", str(prepared), "--run-name", "tiny"]
    for name in ("models_dir", "image_size", "base_filters", "batch_size", "epochs", "steps_per_epoch", "sample_every",
                 "precision"):
        command += ["-p", f"{name}={config[name]}"]
    state = tmp_path / "tiny" / "checkpoint" / checkpoint.CHECKPOINT_NAME
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        deadline = time.monotonic() + 180
        while not state.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), "the training process wrote no checkpoint"
        time.sleep(1.0)  # let it get into a later epoch
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    meta = checkpoint.read_meta(state)  # an atomic replace: always a whole checkpoint
    epoch, step = meta["epoch"], meta["step"]
    assert epoch >= 1 and step == 3 * epoch

    # The optimizers come back with their step counters and Adam moments, not from zero.
    resolved = resolve_config(config)
    model = training.build_pix2pix(resolved)
    checkpoint.restore_checkpoint(state, model)
    assert int(model.generator_optimizer.iterations.numpy()) == step
    assert int(model.discriminator_optimizer.iterations.numpy()) == step
    with np.load(state) as archive:
        stored = [archive[key] for key in sorted(archive.files) if key.startswith("generator_optimizer/")]
    restored = [variable.numpy() for variable in model.generator_optimizer.variables]
    assert all(np.array_equal(a, b) for a, b in zip(stored, restored, strict=True))
    assert any(np.abs(value).sum() > 0 for value in restored if value.ndim > 0)

    outcome = training.train({**config, "epochs": epoch + 1}, verbose=0)
    assert (outcome["initial_epoch"], outcome["epoch"], outcome["step"]) == (epoch, epoch + 1, step + 3)


def test_the_learning_rates_decay_linearly_over_the_last_epochs_as_in_the_paper(prepared, tmp_path):
    from colorgan.callbacks import decay_factor

    # 200 epochs, 100 decaying: 1 through epoch 99 (0-based), then 100/101, ..., 1/101 at the last.
    assert [decay_factor(e, 200, 100) for e in (0, 99)] == [1.0, 1.0]
    assert decay_factor(100, 200, 100) == pytest.approx(100 / 101)
    assert decay_factor(199, 200, 100) == pytest.approx(1 / 101)
    assert decay_factor(150, 200, 0) == 1.0
    outcome = training.train(tiny_config(prepared, tmp_path, epochs=3, decay_epochs=2), verbose=0)
    model = outcome["model"]  # the last epoch (index 2) ran at 1 - 2/3 of the rates
    assert float(model.generator_optimizer.learning_rate) == pytest.approx(2e-4 / 3)
    assert float(model.discriminator_optimizer.learning_rate) == pytest.approx(2e-4 / 3)
    with pytest.raises(ValueError, match="decay_epochs"):
        resolve_config(epochs=3, decay_epochs=4)


def test_warmup_epochs_do_not_compete_for_the_chosen_generator(tmp_path):
    from colorgan import callbacks, models

    export = callbacks.GeneratorExport(tmp_path, models.build_generator(32, base_filters=4), callbacks.NanGuard(),
                                       first_epoch=1)
    figures = {"val_colorfulness": 30.0, "val_colorfulness_truth": 40.0}
    export.on_epoch_end(0, {"val_psnr": 30.0, **figures})  # the warm-up: however good, it is not chosen
    assert (tmp_path / "generator_last.keras").is_file() and not (tmp_path / "generator.keras").exists()
    export.on_epoch_end(1, {"val_psnr": 22.0, **figures})
    assert (tmp_path / "generator.keras").is_file() and export.best == (True, 22.0)


def test_a_rebalanced_l1_run_keeps_its_color_prior_and_weighs_with_it(prepared, tmp_path):
    from colorgan import models, objectives, runs

    config = resolve_config(tiny_config(prepared, tmp_path, objective="l1_rebalanced", rebalance=0.5))
    train_data, _ = training.make_datasets(config)
    folder = tmp_path / "run"
    folder.mkdir()
    weights = training.class_weights_for(config, folder, train_data, batches=2)
    prior = np.load(folder / runs.PRIOR_NAME)
    np.testing.assert_allclose(weights, objectives.rebalancing_weights(prior, 0.5))
    assert weights.max() > 2 * weights.min()
    model = training.build_pix2pix(config, class_weights=weights)
    assert models.bin_centres(model.generator) is None  # a plain tanh U-Net, as for l1
    assert np.isin(model.weight_table, weights).all() and model.weight_table.max() > 2 * model.weight_table.min()
    assert training.class_weights_for({**config, "objective": "l1"}, folder, train_data) is None


def test_calibrate_again_with_other_working_sizes(prepared, tmp_path, capsys):
    from colorgan import cli, runs

    training.train(tiny_config(prepared, tmp_path, epochs=1, calibrate=False), verbose=0)
    folder = tmp_path / "tiny"
    assert not (folder / runs.GAIN_NAME).exists()
    assert cli.main(["calibrate", str(folder), "--working-size-factors", "1", "2"]) == 0
    strength = json.loads((folder / runs.GAIN_NAME).read_text())
    assert {row["working_size"] for row in strength["table"]} == {32, 64}
    assert cli.main(["calibrate", str(folder), "--working-size-factors", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_precision_auto_is_timed_once_per_run_and_kept(prepared, tmp_path, monkeypatch):
    """On a CPU with bfloat16 kernels, auto times both precisions for this network and keeps the faster one."""
    from colorgan import precision

    monkeypatch.setattr(precision, "worth_measuring", lambda name: name == "auto")
    config = tiny_config(prepared, tmp_path, precision="auto", epochs=1, calibrate=False)
    training.train(config, verbose=0)
    chosen = json.loads((tmp_path / "tiny" / "precision.json").read_text())
    seconds = chosen["seconds_per_step"]
    assert set(seconds) == {"float32", "bfloat16"} and all(value > 0 for value in seconds.values())
    assert chosen["precision"] == min(seconds, key=seconds.get)
    assert json.loads((tmp_path / "tiny" / "config.json").read_text())["precision"] == "auto"

    (tmp_path / "tiny" / "precision.json").write_text(json.dumps({"precision": "float32", "seconds_per_step": {}}))
    monkeypatch.setattr(precision, "fastest", lambda *args, **kwargs: pytest.fail("a resumed run timed again"))
    outcome = training.train({**config, "epochs": 2}, verbose=0)
    assert outcome["model"].generator.dtype_policy.name == "float32"  # what the run folder says, not re-measured


def test_fastest_picks_the_quickest_step(monkeypatch):
    from colorgan import precision

    clock = {"now": 0.0}
    monkeypatch.setattr(precision.time, "perf_counter", lambda: clock["now"])

    class Model:
        def __init__(self, cost):
            self.cost = cost

        def train_on_batch(self, *batch):
            clock["now"] += self.cost

    seconds, chosen = precision.fastest({"float32": lambda: Model(0.3), "bfloat16": lambda: Model(0.2)}, (None,))
    assert chosen == "bfloat16" and seconds == pytest.approx({"float32": 0.3, "bfloat16": 0.2})

    # Another job starts while they are timed (every step from the 6th on takes twice as long): timed one after
    # the other, float32 would be timed before it came (0.3 s) and bfloat16 after (0.4 s), and picked wrongly.
    calls = {"n": 0}

    class Loaded(Model):
        def train_on_batch(self, *batch):
            calls["n"] += 1
            clock["now"] += self.cost * (2 if calls["n"] >= 6 else 1)

    seconds, chosen = precision.fastest({"float32": lambda: Loaded(0.3), "bfloat16": lambda: Loaded(0.2)}, (None,))
    assert chosen == "bfloat16" and seconds == pytest.approx({"float32": 0.6, "bfloat16": 0.4})
def test_history_rows_never_repeat_when_a_run_resumes_from_an_older_checkpoint(prepared, tmp_path):
    training.train(tiny_config(prepared, tmp_path, checkpoint_every=2), verbose=0)
    history = tmp_path / "tiny" / "history.csv"
    rows = history.read_text().splitlines()
    # Killed in the epoch after: that epoch's row was logged, its checkpoint never written.
    history.write_text("\n".join([*rows, "2" + rows[-1][rows[-1].index(","):]]) + "\n")
    training.train(tiny_config(prepared, tmp_path, epochs=3, checkpoint_every=2), verbose=0)
    epochs = [int(row.split(",")[0]) for row in history.read_text().splitlines()[1:]]
    assert epochs == [0, 1, 2]


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_checkpoint_is_named_with_how_to_recover(prepared, tmp_path, damage):
    training.train(tiny_config(prepared, tmp_path, epochs=1), verbose=0)
    state = tmp_path / "tiny" / "checkpoint" / checkpoint.CHECKPOINT_NAME
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\0" * 1000)
    with pytest.raises(checkpoint.CheckpointError, match=f"{state}: damaged checkpoint .*move it away"):
        training.train(tiny_config(prepared, tmp_path, epochs=2), verbose=0)


def test_fine_tuning_starts_from_a_saved_generators_weights(tmp_path):
    from colorgan import models

    source = models.build_generator(32, 8)
    source.get_layer("output_conv").bias.assign([0.3, -0.2])
    source.save(tmp_path / "source.keras")
    model = training.build_pix2pix({**TINY, "ema_decay": 0.9})
    training.start_from(model, tmp_path / "source.keras")
    for weights in (model.generator.get_weights(), model.export_weights()):  # the moving average starts there too
        for got, expected in zip(weights, source.get_weights(), strict=True):
            np.testing.assert_array_equal(got, expected)
    models.build_generator(32, 4).save(tmp_path / "narrow.keras")
    with pytest.raises(ValueError, match="does not fit the run's architecture"):
        training.start_from(model, tmp_path / "narrow.keras")
    with pytest.raises(ValueError, match="no generator file"):
        training.start_from(model, tmp_path / "none.keras")
