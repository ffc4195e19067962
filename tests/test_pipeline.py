"""A folder's stages overlapped: every photo once, as colorizing it alone gives it, failures named, memory bounded."""

import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from colorgan import batch, color, images, inference, pipeline


class NumpyGenerator:
    """A stand-in generator without TensorFlow: ab depends on L, so a crop or a photo mixed up would show."""

    input_shape, output_shape = (None, None, None, 1), (None, None, None, 2)
    size_multiple, working_size, color_gain = 4, 32, 1.5

    def __call__(self, lightness, training=False):
        return np.tanh(np.concatenate([0.6 * lightness + 0.2, 0.3 - 0.5 * lightness], axis=-1)).astype(np.float32)


@pytest.fixture
def photos(tmp_path, sample_photos):
    """Six PNGs of different sizes and shapes (one gray), and a broken one third."""
    paths = []
    for i, name in enumerate(["astronaut", "coffee", "chelsea", "rocket", "astronaut", "coffee"]):
        paths.append(tmp_path / "in" / f"{i}_{name}.png")
        paths[-1].parent.mkdir(exist_ok=True)
        photo = Image.fromarray(sample_photos[name][: 40 + 13 * i, : 90 - 9 * i])
        (photo.convert("L") if i == 4 else photo).save(paths[-1])
    paths.insert(2, tmp_path / "in" / "broken.png")
    paths[2].write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return paths


def _read(paths):
    return lambda index: (images.read_rgb(paths[index]), paths[index].name)


def test_each_photo_is_written_once_as_alone_and_a_broken_one_is_named_while_the_rest_are_done(photos):
    written, ticks, lock = {}, [], threading.Lock()

    def write(index, rgb, context):
        with lock:
            assert index not in written and context == photos[index].name
            written[index] = rgb

    failures = pipeline.colorize_each(NumpyGenerator(), photos, _read(photos), write, batch_size=2,
                                      color_strength=0.8, progress=ticks.append)
    assert list(failures) == [2] and "corrupt or truncated" in failures[2].reason
    assert sorted(written) == [0, 1, 3, 4, 5, 6] and sum(ticks) == len(photos)
    for index, rgb in written.items():
        alone = inference.colorize(NumpyGenerator(), photos[index], color_strength=0.8)
        assert rgb.shape == alone.shape and np.abs(rgb.astype(int) - alone).max() <= 1, photos[index].name
        assert rgb.std(axis=-1).mean() > 1  # colored, not gray


def test_a_photo_that_cannot_be_written_is_named_and_the_others_are_written(photos):
    readable, written = photos[:2] + photos[3:], []

    def write(index, rgb, context):
        if index == 1:
            raise OSError(28, "No space left on device")
        written.append(index)

    failures = pipeline.colorize_each(NumpyGenerator(), readable, _read(readable), write)
    assert list(failures) == [1] and "No space left" in str(failures[1])
    assert sorted(written) == [0, 2, 3, 4, 5]


def test_a_bug_in_a_stage_is_raised_not_reported_as_a_photo_that_failed(photos):
    def write(index, rgb, context):
        raise KeyError("a bug")

    with pytest.raises(KeyError, match="a bug"):
        pipeline.colorize_each(NumpyGenerator(), photos[:2], _read(photos), write)


@pytest.mark.parametrize("budget_in_photos", [0, 2])
def test_the_pixels_between_reading_and_writing_stay_within_the_budget(tmp_path, sample_photos, budget_in_photos):
    paths = []
    for i in range(6):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(sample_photos["coffee"][:40, :60]).save(paths[-1])
    in_flight, most, lock = [0], [0], threading.Lock()

    def read(index):
        with lock:
            in_flight[0] += 40 * 60
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)  # slow reads: with room, several would be read at once
        return images.read_rgb(paths[index]), None

    def write(index, rgb, context):
        with lock:
            in_flight[0] -= 40 * 60

    # A budget below one photo still colorizes them, one at a time.
    failures = pipeline.colorize_each(NumpyGenerator(), paths, read, write, pixels_in_flight=budget_in_photos * 40 * 60)
    assert failures == {} and in_flight[0] == 0
    assert most[0] == max(1, budget_in_photos) * 40 * 60


def test_a_folder_is_written_with_its_ledger_and_photos_equal_to_colorizing_each_alone(photos, tmp_path):
    report = batch.colorize_files(NumpyGenerator(), [photos[0].parent], tmp_path / "out", batch_size=3)
    assert [path.name for path, _ in report.failed] == ["broken.png"] and len(report.written) == 6
    assert sorted(batch.read_ledger(tmp_path / "out")) == sorted(path.name for path in report.written)
    for source in photos[:2] + photos[3:]:
        alone = inference.colorize(NumpyGenerator(), source)
        assert np.abs(images.read_rgb(tmp_path / "out" / source.name).astype(int) - alone).max() <= 1
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_unknown_colorize_options_are_refused_and_strength_0_gives_the_gray_photo(photos, tmp_path):
    with pytest.raises(TypeError, match="flavour"):
        batch.colorize_files(NumpyGenerator(), photos[:1], tmp_path / "out", flavour="x")
    batch.colorize_files(NumpyGenerator(), photos[:1], tmp_path / "out", color_strength=0)
    gray = images.read_rgb(tmp_path / "out" / photos[0].name)
    assert np.abs(color.lightness_u8(gray) - color.lightness_u8(images.read_rgb(photos[0]))).max() < 0.5
    assert np.abs(gray.astype(int) - gray[..., :1]).max() <= 1


def test_joining_in_strips_equals_joining_the_whole_photo_at_once(rng):
    lightness = rng.uniform(0, 100, (700, 530)).astype(np.float32)  # strips of STRIP_ROWS, the last one short
    ab = np.tanh(rng.normal(0, 0.6, (37, 28, 2))).astype(np.float32)
    whole = cv2.resize(color.ab_from_model_np(np.clip(ab * 1.3, -1, 1)), (530, 700), interpolation=cv2.INTER_LINEAR)
    expected = color.lab_to_rgb_u8(lightness, whole[..., 0], whole[..., 1])
    assert np.abs(inference.join(lightness, ab, 1.3).astype(int) - expected).max() <= 1


def test_an_interrupted_folder_leaves_whole_photos_in_the_ledger_and_no_temporary_files(photos, tmp_path):
    photos[2].unlink()  # only readable photos: the first one done is a photo written

    def interrupt(count):
        raise KeyboardInterrupt  # Ctrl-C as the first photo is written

    with pytest.raises(KeyboardInterrupt):
        batch.colorize_files(NumpyGenerator(), [photos[0].parent], tmp_path / "out", progress=interrupt)
    written = {path.name for path in (tmp_path / "out").iterdir()} - {batch.LEDGER_NAME}
    assert written and set(batch.read_ledger(tmp_path / "out")) == written  # each whole, and known as ours
    for name in written:
        assert images.read_rgb(tmp_path / "out" / name).shape == images.read_rgb(photos[0].parent / name).shape
    again = batch.colorize_files(NumpyGenerator(), [photos[0].parent], tmp_path / "out")
    assert len(again.existing) == len(written) and len(again.written) == 6 - len(written)
    assert not list((tmp_path / "out").glob(".*.tmp"))
