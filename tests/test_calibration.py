"""The color strength: the gain and working size chosen on the validation photos, and the scoreboard."""

import dataclasses

import numpy as np
import pytest

from colorgan import calibration, colorizers, inference, models, runs
from colorgan.evaluate import gray_version


def test_the_gain_is_the_most_colorful_that_clearly_beats_gray_and_not_past_the_truth():
    gray = {"gray_psnr": 22.0, "gray_ciede2000": 12.0, "real_colorfulness": 40.0}
    rows = [{"gain": g, "psnr": p, "ciede2000": d, "colorfulness": c, **gray}
            for g, p, d, c in [(0.5, 22.6, 11.6, 10), (1.0, 22.9, 11.3, 20), (1.5, 22.7, 11.4, 30),
                               (2.0, 22.4, 11.4, 40), (3.0, 22.8, 11.0, 45)]]
    assert calibration.choose_row(rows)["gain"] == 1.5  # 2.0: PSNR within 0.5 dB of gray; 3.0: past the truth
    assert calibration.choose_row(rows, margin_db=0.8)["gain"] == 1.0
    assert calibration.choose_row(rows, margin_db=2.0)["gain"] == 1.0  # no gain beats gray by 2 dB: the best PSNR


def test_the_calibrated_strength_round_trips_through_the_run_folder_and_zero_gives_gray(tmp_path, sample_photos):
    generator = models.build_generator(32, 8)
    generator.get_layer("output_conv").bias.assign([0.3, -0.2])  # visible colors from a fresh network
    generator.save(tmp_path / runs.GENERATOR_NAME)
    runs.write_config(tmp_path, {"image_size": 32})
    runs.write_gain(tmp_path, 1.75, working_size=64, rule="test")
    loaded = colorizers.load(tmp_path / runs.GENERATOR_NAME)
    assert loaded.gain == 1.75 and runs.read_calibration(tmp_path / runs.GENERATOR_NAME)[0] == 1.75
    assert loaded.working_size == 64  # the calibrated working size wins over config.json's image_size
    photo = next(iter(sample_photos.values()))
    np.testing.assert_array_equal(inference.colorize(loaded, photo, color_strength=0), gray_version(photo))
    calibrated = inference.colorize(loaded, photo).astype(int)
    half = inference.colorize(loaded, photo, color_strength=1 / 1.75).astype(int)  # gain 1: the raw output
    raw = inference.colorize_batch(dataclasses.replace(loaded, gain=1.0), [photo])[0].astype(int)
    np.testing.assert_array_equal(half, raw)
    gray = gray_version(photo).astype(int)
    assert np.abs(calibrated - gray).mean() > np.abs(raw - gray).mean()
    with pytest.raises(ValueError, match="color_strength"):
        inference.colorize(loaded, photo, color_strength=-1)


def test_the_scoreboard_puts_gray_first_and_scores_every_generator(tmp_path, sample_photos):
    import cv2

    from colorgan import scoreboard

    folder = tmp_path / "photos"
    folder.mkdir()
    for name, photo in sorted(sample_photos.items())[:3]:
        cv2.imwrite(str(folder / f"{name}.png"), cv2.resize(photo, (48, 40))[..., ::-1])
    entries = []
    for label, bias in (("reddish", [0.3, 0.1]), ("bluish", [-0.1, -0.3])):
        run = tmp_path / label
        run.mkdir()
        generator = models.build_generator(32, 8)
        generator.get_layer("output_conv").bias.assign(bias)
        generator.save(run / runs.GENERATOR_NAME)
        runs.write_config(run, {"image_size": 32})
        if label == "bluish":
            (run / runs.HISTORY_NAME).write_text("epoch,cpu_minutes\n0,1.0\n1,2.5\n")
        entries.append((label, run / runs.GENERATOR_NAME))
    photos = sorted(folder.iterdir())
    rows = scoreboard.score(entries, photos)
    assert [row["label"] for row in rows] == ["leave it gray", "reddish", "bluish"]
    assert rows[0]["ab_explained"] == 0.0 and rows[0]["colorfulness"] == 0.0
    assert rows[1]["colorfulness"] > 5 and rows[1]["psnr"] != rows[2]["psnr"] and all(r["n_images"] == 3 for r in rows)
    table = scoreboard.markdown(rows)
    assert table.splitlines()[2].startswith("| leave it gray |") and len(table.splitlines()) == 5
    # CPU-minutes: the run's last history row; none for gray and for a file with no history beside it.
    assert [line.rsplit("|", 2)[1].strip() for line in table.splitlines()[2:]] == ["-", "-", "2.5"]
    # The gain as calibrated (1 here: no color_gain.json), none for gray.
    assert [line.split("|")[6].strip() for line in table.splitlines()[2:]] == ["-", "1", "1"]
    scoreboard.picture(entries, photos, tmp_path / "board.png", count=2)
    picture = cv2.imread(str(tmp_path / "board.png"))
    assert picture is not None and picture.shape[0] > 100


def test_calibration_photos_are_capped_by_a_seeded_choice_and_sides_by_area_reduction(tmp_path, sample_photos):
    import cv2

    from colorgan import evaluate

    paths = [f"p{i:03d}.jpg" for i in range(250)]
    chosen = calibration.calibration_photos(paths, max_photos=200)
    assert len(chosen) == 200 == len(set(chosen)) and chosen == sorted(chosen)
    assert chosen == calibration.calibration_photos(list(reversed(paths)), max_photos=200)  # the same choice
    assert calibration.calibration_photos(paths[:5], max_photos=200) == paths[:5]

    # A 600x400 photo scored with max_side=300 scores exactly as its area-reduced 300x200 copy.
    photo = sample_photos["coffee"]  # 600 x 400
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    cv2.imwrite(str(big), photo[..., ::-1])
    cv2.imwrite(str(small), cv2.resize(photo, (300, 200), interpolation=cv2.INTER_AREA)[..., ::-1])
    generator = models.build_generator(32, 4)
    generator.get_layer("output_conv").bias.assign([0.3, -0.2])
    reduced = evaluate.evaluate_gains(generator, [big], [1.0], working_size=64, max_side=300)[0]
    copy = evaluate.evaluate_gains(generator, [small], [1.0], working_size=64)[0]
    assert reduced["model"] == copy["model"] and reduced["gray"] == copy["gray"]
    full = evaluate.evaluate_gains(generator, [big], [1.0], working_size=64)[0]
    assert full["model"] != reduced["model"]


def test_refinement_splits_the_step_to_the_next_gain():
    assert calibration.refinement(1.5, (1.0, 1.5, 2.0)) == [1.625, 1.75, 1.875]
    assert calibration.refinement(1.0, (0.5, 1.0, 3.0), steps=2) == [2.0]
    assert calibration.refinement(3.0, (1.0, 3.0)) == []  # nothing above the largest gain


def test_calibration_refines_each_working_size_at_the_gain_it_would_choose(tmp_path, sample_photos):
    import cv2

    paths = []
    for name, photo in sorted(sample_photos.items())[:3]:
        paths.append(tmp_path / f"{name}.png")
        cv2.imwrite(str(paths[-1]), cv2.resize(photo, (60, 40))[..., ::-1])
    generator = models.build_generator(32, 4)
    generator.get_layer("output_conv").bias.assign([0.1, -0.05])
    gains = (0.5, 1.0, 9.0)  # at 9 the colors are far past the real photos': never chosen
    # Margins of -100: every row that does not pass the real colorfulness qualifies, so the most colorful wins.
    chosen, table = calibration.calibrate_strength(generator, paths, gains=gains, margin_db=-100, margin_ciede=-100,
                                                   working_sizes=(32, 64))
    assert len(table) == 2 * (3 + 3)
    for size, rows in ((32, table[:6]), (64, table[6:])):
        grid, finer = rows[:3], rows[3:]
        assert {row["working_size"] for row in rows} == {size} and [row["gain"] for row in grid] == list(gains)
        first = calibration.choose_row(grid, -100, -100)
        assert first["gain"] == 1.0
        assert [row["gain"] for row in finer] == calibration.refinement(1.0, gains) == [3.0, 5.0, 7.0]
    assert chosen == calibration.choose_row(table, -100, -100)
    assert chosen["colorfulness"] <= chosen["real_colorfulness"]
