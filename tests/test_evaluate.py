"""Evaluation: gray versions, photo lists, model beside the gray baseline, metrics.json and the CLI."""

import dataclasses
import json
import math

import numpy as np
import pytest
from PIL import Image
from skimage import color as skcolor

from colorgan import cli, color, colorizers, evaluate, metrics, models


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, sample_photos):
    """A run folder with a real (untrained) generator and a prepared folder whose val/ holds 5 photos + 1 broken."""
    root = tmp_path_factory.mktemp("evaluate")
    val = root / "prepared" / "val"
    (val / "cats").mkdir(parents=True)
    for name in ("astronaut", "coffee", "rocket", "hubble_deep_field"):
        Image.fromarray(sample_photos[name][::4, ::4]).save(val / f"{name}.png")
    Image.fromarray(sample_photos["chelsea"][::4, ::4]).save(val / "cats" / "chelsea.jpg")
    (val / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    generator = models.build_generator(32, base_filters=8)
    (root / "run").mkdir()
    generator.save(root / "run" / "generator.keras")
    config = {"run_name": "test", "image_size": 32, "prepared_dir": str(root / "prepared"), "base_filters": 8}
    (root / "run" / "config.json").write_text(json.dumps(config))
    return root


def test_gray_version_keeps_the_photos_lightness_and_drops_its_color(sample_photos):
    photo = sample_photos["coffee"]
    gray = evaluate.gray_version(photo)
    assert gray.shape == photo.shape and gray.dtype == np.uint8
    assert np.abs(color.lightness_u8(gray) - color.lightness_u8(photo)).mean() < 0.3
    assert np.abs(skcolor.rgb2lab(gray)[..., 1:]).max() < 1.5  # only 8-bit rounding is left of the chroma


def test_list_photos_is_recursive_sorted_and_subsets_reproducibly(run_folder):
    val = run_folder / "prepared" / "val"
    everything = evaluate.list_photos(val)
    assert [p.name for p in everything] == ["astronaut.png", "broken.jpg", "chelsea.jpg", "coffee.png",
                                            "hubble_deep_field.png", "rocket.png"]
    subset = evaluate.list_photos(val, max_images=3, seed=1)
    assert len(subset) == 3 and subset == evaluate.list_photos(val, max_images=3, seed=1) and set(subset) < set(
        everything)
    with pytest.raises(ValueError, match="not found"):
        evaluate.list_photos(val / "missing")
    assert evaluate.default_data_dirs(run_folder / "run" / "generator.keras") == [val]


def test_a_runs_validation_photos_include_its_extra_val_dirs(run_folder, tmp_path, sample_photos):
    held = tmp_path / "held"
    (held / "val").mkdir(parents=True)
    Image.fromarray(sample_photos["coffee"][::8, ::8]).save(held / "val" / "scene.png")
    run = tmp_path / "run"
    run.mkdir()
    config = json.loads((run_folder / "run" / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "extra_val_dirs": [str(held)]}))
    folders = evaluate.default_data_dirs(run / "generator.keras")
    assert folders == [run_folder / "prepared" / "val", held / "val"]  # held/train does not exist: left out
    photos = evaluate.list_photos(folders)
    assert len(photos) == 7 and photos[-1] == held / "val" / "scene.png"


def test_evaluate_scores_model_and_gray_on_the_same_photos_and_skips_broken_files(run_folder):
    colorizer = colorizers.load(run_folder / "run" / "generator.keras")
    done = []
    result = evaluate.evaluate(colorizer, evaluate.list_photos(run_folder / "prepared" / "val"), batch_size=4,
                               progress=done.append)
    assert result["n_images"] == 5 and sum(done) == 6
    assert [entry["file"].endswith("broken.jpg") for entry in result["skipped"]] == [True]
    assert set(result["model"]) == set(result["gray"]) == set(metrics.BETTER)
    assert result["gray"]["colorfulness"] < 1.0 < result["real_colorfulness"]
    first = result["per_image"][0]
    assert result["model"]["auc"] == pytest.approx(np.mean([e["model"]["auc"] for e in result["per_image"]]))
    assert first["gray"]["colorfulness_gap"] == pytest.approx(first["gray"]["colorfulness"]
                                                              - first["real_colorfulness"])
    assert all(math.isfinite(value) for value in [*result["model"].values(), *result["gray"].values()])


def test_several_gains_from_one_pass_score_exactly_as_evaluate_does_at_each_gain(run_folder):
    colorizer = colorizers.load(run_folder / "run" / "generator.keras")
    colorizer.generator.get_layer("output_conv").bias.assign([0.3, -0.2])  # colors a gain visibly changes
    paths = evaluate.list_photos(run_folder / "prepared" / "val")
    results = evaluate.evaluate_gains(colorizer, paths, [0.5, 2.0], batch_size=4)
    for gain, result in zip([0.5, 2.0], results, strict=True):
        alone = evaluate.evaluate(dataclasses.replace(colorizer, gain=gain), paths, batch_size=4)
        assert result["model"] == alone["model"] and result["gray"] == alone["gray"]
        assert result["per_image"] == alone["per_image"] and result["skipped"] == alone["skipped"]
    assert results[0]["model"]["colorfulness"] < results[1]["model"]["colorfulness"]
    # Only the calibration's metrics: the same numbers, and nothing else computed.
    lean = evaluate.evaluate_gains(colorizer, paths, [0.5, 2.0], batch_size=4, metric_names=["psnr", "ciede2000"])
    for full, few in zip(results, lean, strict=True):
        assert set(few["model"]) == {"psnr", "ciede2000", "ab_mse"}
        assert few["model"] == {name: full["model"][name] for name in few["model"]}
        assert few["ab_explained"] == full["ab_explained"]
    # Photos scored on one thread or three: the same numbers, in the same order.
    one, three = (evaluate.evaluate_gains(colorizer, paths, [0.5, 2.0], batch_size=4, workers=workers)
                  for workers in (1, 3))
    for a, b, full in zip(one, three, results, strict=True):
        assert a["per_image"] == b["per_image"] == full["per_image"] and a["model"] == b["model"]


def test_table_says_when_gray_wins():
    names = list(metrics.BETTER)
    result = {"n_images": 2, "real_colorfulness": 30.0, "ab_explained": 0.25,
              "model": dict(zip(names, [20.0, 0.7, 12.0, 0.90, 0.08, 25.0, -5.0, 300.0], strict=True)),
              "gray": dict(zip(names, [23.0, 0.9, 10.0, 0.85, 0.09, 0.0, -30.0, 400.0], strict=True))}
    assert evaluate.gray_wins(result) == ["psnr", "ssim", "ciede2000"]
    table = evaluate.format_table(result)
    assert "PSNR (dB)" in table and "gray beats the model on PSNR (dB) and SSIM" in table
    assert table.splitlines()[2].rstrip().endswith("GRAY") and table.splitlines()[5].rstrip().endswith("model")
    assert "ab variance explained" in table and "0.250" in table


def test_cli_writes_metrics_json_and_prints_the_table_against_gray(run_folder, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    code = cli.main(["evaluate", "--model", str(run_folder / "run" / "generator.keras"), "--max-images", "4",
                     "--out", str(out)])  # --data defaults to the run's prepared_dir/val
    printed = capsys.readouterr().out
    assert code == 0
    saved = json.loads(out.read_text())
    assert saved["data_dir"].endswith("prepared/val") and saved["n_images"] + len(saved["skipped"]) == 4
    assert len(saved["per_image"]) == saved["n_images"]
    assert "gray" in printed and "ab AUC (Zhang)" in printed and str(out) in printed


def test_cli_errors_clearly_without_a_model_or_data(run_folder, tmp_path, capsys):
    assert cli.main(["evaluate", "--model", str(tmp_path / "none.keras")]) == 2
    assert "none.keras: model file not found" in capsys.readouterr().err
    model = run_folder / "run" / "generator.keras"
    assert cli.main(["evaluate", "--model", str(model), "--data", str(tmp_path / "nothing")]) == 2
    assert "evaluation folder not found" in capsys.readouterr().err


def test_evaluating_the_shipped_generator_writes_nothing_into_the_package(tmp_path, sample_photos, monkeypatch, capsys):
    import cv2

    from colorgan import cli, paths, shipped

    monkeypatch.setattr(paths, "BUILD_DIR", tmp_path / "build")
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo in sorted(sample_photos.items())[:2]:
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(photo, (64, 48))[..., ::-1])
    more = tmp_path / "more"
    more.mkdir()
    cv2.imwrite(str(more / "third.png"), cv2.resize(sample_photos["coffee"], (64, 48))[..., ::-1])
    before = sorted(path.name for path in shipped.PRETRAINED_DIR.iterdir())
    assert cli.main(["evaluate", "--model", str(shipped.SHIPPED_GENERATOR), "--data", str(folder)]) == 0
    assert sorted(path.name for path in shipped.PRETRAINED_DIR.iterdir()) == before
    written = tmp_path / "build" / "metrics" / "shipped_generator.json"
    assert json.loads(written.read_text())["n_images"] == 2 and str(written) in capsys.readouterr().out
    # --data again adds a folder: all of their photos are scored
    assert cli.main(["evaluate", "--model", str(shipped.SHIPPED_GENERATOR), "--data", str(folder), "--data",
                     str(more)]) == 0
    assert json.loads(written.read_text())["n_images"] == 3
