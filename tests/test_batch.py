"""Colorizing folders: never an input overwritten, re-runs only fill in what is missing, nothing skipped silently."""

import hashlib
import json
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from colorgan import batch, cli, inference


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A tiny L -> ab generator from standard layers, saved as a run folder would hold it."""
    inputs = keras.Input(shape=(None, None, 1))
    outputs = layers.Conv2D(2, 1, activation="tanh", bias_initializer=keras.initializers.Constant(0.3))(inputs)
    folder = tmp_path_factory.mktemp("run")
    keras.Model(inputs, outputs).save(folder / "generator.keras")
    (folder / "config.json").write_text(json.dumps({"image_size": 32}))
    return folder / "generator.keras"


@pytest.fixture
def album(tmp_path, sample_photos):
    """A user's folder: two PNGs, a phone's HEIC photo in a subfolder and a note."""
    folder = tmp_path / "album"
    (folder / "phone").mkdir(parents=True)
    Image.fromarray(sample_photos["coffee"][:64, :80]).save(folder / "cup.png")
    Image.fromarray(sample_photos["chelsea"][:70, :50]).convert("L").save(folder / "cat.png")
    Image.fromarray(sample_photos["astronaut"][:60, :40]).save(folder / "phone" / "IMG_0001.heic")
    (folder / "notes.txt").write_text("grandma's album, 1952")
    return folder


def _checksums(folder):
    return {path.relative_to(folder): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def _colorize(*args, model):
    return cli.main(["colorize", *map(str, args), "--model", str(model)])


def test_output_into_the_input_folder_is_refused_and_the_photos_stay_as_they_were(album, model_file, capsys):
    before = _checksums(album)
    assert _colorize(album, "-o", album, model=model_file) == 2
    assert _colorize(album, "-o", album / "colorized", model=model_file) == 2  # re-runs would colorize the outputs
    assert _colorize(album / "cup.png", "-o", album, "--overwrite", model=model_file) == 2
    assert "would write over the input" in capsys.readouterr().err
    assert _checksums(album) == before


def test_a_second_run_writes_nothing_and_an_interrupted_one_fills_in_what_is_missing(album, model_file, tmp_path,
                                                                                    capsys):
    out = tmp_path / "colorized"
    assert _colorize(album, "-o", out, model=model_file) == 0
    first = {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.name != batch.LEDGER_NAME}
    assert sorted(path.relative_to(out).as_posix() for path in first) == ["cat.png", "cup.png", "phone",
                                                                          "phone/IMG_0001.png"]
    capsys.readouterr()

    assert _colorize(album, "-o", out, model=model_file) == 0
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*") if path.name != batch.LEDGER_NAME} == first
    assert "colorized 0 of 3 photos" in capsys.readouterr().out

    (out / "cup.png").unlink()  # as if the first run had been interrupted there
    assert _colorize(album, "-o", out, model=model_file) == 0
    printed = capsys.readouterr().out
    assert "colorized 1 of 3 photos" in printed and "2 already colorized, kept (--overwrite redoes them)" in printed
    assert (out / "cat.png").stat().st_mtime_ns == first[out / "cat.png"]

    assert _colorize(album, "-o", out, "--overwrite", model=model_file) == 0
    assert "colorized 3 of 3 photos" in capsys.readouterr().out


def test_every_file_left_is_named_and_counted_and_heic_photos_are_colorized(album, model_file, tmp_path, capsys):
    (album / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    assert _colorize(album, "-o", tmp_path / "out", model=model_file) == 0
    printed = capsys.readouterr().out
    assert Image.open(tmp_path / "out" / "phone" / "IMG_0001.png").size == (40, 60)  # HEIC read, written as PNG
    assert f"skipped {album / 'notes.txt'}: unsupported file type: colorgan does not read .txt files" in printed
    assert f"skipped {album / '.DS_Store'}: hidden file" in printed
    assert "colorized 3 of 3 photos" in printed and "2 other files not read" in printed


def test_an_interrupted_write_leaves_no_half_photo(tmp_path, monkeypatch):
    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        batch.write_rgb(np.zeros((8, 8, 3), np.uint8), tmp_path / "photo.jpg")
    assert list(tmp_path.iterdir()) == []  # no photo.jpg a re-run would take for done, no temporary file


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_users_file_at_an_outputs_name_is_never_replaced(tmp_path, sample_photos, model_file, capsys, overwrite):
    folder = tmp_path / "g"
    folder.mkdir()
    Image.fromarray(sample_photos["coffee"][:40, :60]).convert("L").save(folder / "scan.gif")
    Image.fromarray(sample_photos["chelsea"][:40, :60]).save(folder / "scan.png")  # the user's own, not ours
    before = _checksums(folder)
    assert _colorize(folder / "scan.gif", "-o", folder, *overwrite, model=model_file) == 1
    printed = capsys.readouterr().out
    assert f"skipped {folder / 'scan.gif'}: {folder / 'scan.png'} is already there and colorgan did not write it" \
        in printed and "already colorized" not in printed
    assert {name: digest for name, digest in _checksums(folder).items() if name.name != batch.LEDGER_NAME} == before


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_an_input_folder_inside_the_output_folder_gets_nothing_written_into_it(tmp_path, sample_photos, model_file,
                                                                             capsys, overwrite):
    (tmp_path / "o2" / "in" / "in").mkdir(parents=True)
    Image.fromarray(sample_photos["coffee"][:40, :60]).save(tmp_path / "o2" / "in" / "in" / "a.jpg")
    before = _checksums(tmp_path / "o2")
    assert _colorize(tmp_path / "o2" / "in", "-o", tmp_path / "o2", *overwrite, model=model_file) == 2
    assert f"inside the input folder {tmp_path / 'o2' / 'in'}" in capsys.readouterr().err
    assert _checksums(tmp_path / "o2") == before


def test_an_output_colorgan_wrote_and_the_user_edited_is_kept_even_with_overwrite(album, model_file, tmp_path,
                                                                                   capsys):
    out = tmp_path / "out"
    assert _colorize(album, "-o", out, model=model_file) == 0
    (out / "cup.png").write_bytes((out / "cat.png").read_bytes())  # retouched by hand since
    edited = _checksums(out)
    capsys.readouterr()
    assert _colorize(album, "-o", out, "--overwrite", model=model_file) == 1
    assert _checksums(out)[Path("cup.png")] == edited[Path("cup.png")]
    printed = capsys.readouterr().out
    assert "colorized 2 of 3 photos" in printed and f"{out / 'cup.png'} is already there" in printed


def test_an_unwritable_output_is_refused_before_any_photo_is_colorized(album, model_file, tmp_path, monkeypatch,
                                                                       capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder would go")
    monkeypatch.setattr(inference, "colorize_batch", lambda *args, **kwargs: pytest.fail("colorized anyway"))
    assert _colorize(album, "-o", blocker / "out", model=model_file) == 2
    assert f"cannot write into the output folder {blocker / 'out'}" in capsys.readouterr().err
    with pytest.raises(ValueError, match="cannot write into the output folder"):
        batch.colorize_files(object(), [album], blocker / "out")


def test_links_and_unreadable_folders_in_an_input_folder_are_named(album, tmp_path, deny_reading):
    (album / "gone.png").symlink_to(tmp_path / "nowhere.png")
    (album / "loop.png").symlink_to(album / "loop.png")
    (album / "linked").symlink_to(album / "phone")
    (album / "locked").mkdir()
    deny_reading(album / "locked")
    report = batch.plan([album], tmp_path / "out")
    reasons = {path.name: reason for path, reason in report.not_read}
    assert reasons["gone.png"].startswith("broken symbolic link") and reasons["loop.png"].startswith("symbolic link loop")
    assert reasons["linked"].startswith("symbolic link to a folder") and reasons["locked"].startswith("unreadable folder")
    assert report.photos == 3


def test_a_file_name_that_is_not_utf8_is_printed_escaped_under_a_strict_utf8_stdout(tmp_path, sample_photos,
                                                                                    model_file, monkeypatch):
    import io
    import os
    import sys

    folder = tmp_path / "scans"
    folder.mkdir()
    name = os.fsdecode(b"grand-m\xe8re.png")  # Latin-1 bytes in a name, as old disks and zips hold them
    Image.fromarray(sample_photos["coffee"][:40, :60]).save(folder / name)
    (folder / os.fsdecode(b"notes-\xe9t\xe9.txt")).write_text("not a photo")
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")  # PYTHONIOENCODING=utf-8
    monkeypatch.setattr(sys, "stdout", stdout)
    assert _colorize(folder, "-o", tmp_path / "out", model=model_file) == 0
    stdout.flush()
    printed = stdout.buffer.getvalue().decode("utf-8")
    assert "notes-\\udce9t\\udce9.txt: unsupported file type" in printed and "colorized 1 of 1 photos" in printed
    assert (tmp_path / "out" / name).is_file()
