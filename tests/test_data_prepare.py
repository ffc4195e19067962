"""Dataset preparation: bad files skipped with reasons, gray photos dropped, layouts, zip, URL, split, re-runs."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorgan.cli import main
from colorgan.data import list_images, prepare
from colorgan.data.download import download
from colorgan.data.process import has_color

SIZE = 32  # small stored photos keep these tests fast


def _crops(sample_photos, count, side=48, seed=0):
    """``count`` distinct color photos (uint8, side x 1.5*side) cut from scikit-image's samples."""
    rng = np.random.default_rng(seed)
    photos = [sample_photos[name] for name in ("astronaut", "chelsea", "coffee", "rocket")]
    crops = []
    for i in range(count):
        photo = photos[i % len(photos)]
        top = rng.integers(0, photo.shape[0] - side)
        left = rng.integers(0, photo.shape[1] - int(side * 1.5))
        crops.append(np.ascontiguousarray(photo[top:top + side, left:left + int(side * 1.5)]))
    return crops


def _save(array, path, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kwargs)
    return path


def _gray(rgb):
    return np.asarray(Image.fromarray(rgb).convert("L"))


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def _run(sources, out, **kwargs):
    return prepare(sources, out, size=kwargs.pop("size", SIZE), workers=kwargs.pop("workers", 1), progress=False,
                   **kwargs)


def test_bad_files_are_skipped_with_their_reason(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    good = _save(sample_photos["coffee"][:200, :300], folder / "good.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.png").write_text("this is not an image")
    (folder / "truncated.jpg").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (folder / "corrupt.jpg").write_bytes(good.read_bytes()[:200] + bytes(np.random.default_rng(0).integers(
        0, 255, 3000, dtype=np.uint8)))
    _save(sample_photos["coffee"][:10, :12], folder / "tiny.png")
    Image.new("1", (10_001, 10_000)).save(folder / "bomb.png")  # 100 MP: above the pixel limit
    (folder / "readme.txt").write_text("not an image extension: named and counted, never opened")

    summary = _run([folder], tmp_path / "out")

    assert summary["found"] == 8 and summary["kept"] == 1
    assert summary["dropped"] == {"corrupt or truncated": 2, "empty file": 1, "not an image": 1, "too large": 1,
                                  "too small": 1, "unsupported file type": 1}
    reasons = {Path(r["source"]).name: r.get("reason", "") for r in _manifest(tmp_path / "out")}
    assert reasons["readme.txt"] == "unsupported file type: colorgan does not read .txt files"
    assert reasons["tiny.png"].startswith("too small") and "12x10" in reasons["tiny.png"]
    assert reasons["bomb.png"].startswith("too large")
    assert len(list_images(tmp_path / "out", "train") + list_images(tmp_path / "out", "val")) == 1


def test_photos_without_color_are_dropped_and_faint_color_kept(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    coffee = sample_photos["coffee"]
    gray = _gray(coffee)
    noise = np.random.default_rng(0).integers(-2, 3, (*gray.shape, 3))
    _save(gray, folder / "gray_mode_L.png")
    _save(np.clip(gray[..., None] + noise, 0, 255).astype(np.uint8), folder / "gray_rgb_noisy.jpg", quality=40)
    watermarked = np.repeat(gray[..., None], 3, axis=-1)
    watermarked[:6, :20] = (255, 0, 0)  # a red logo on 0.05% of a black-and-white photo
    _save(watermarked, folder / "gray_with_logo.jpg")
    faint = (0.85 * gray[..., None] + 0.15 * coffee).astype(np.uint8)  # 15% of the color left
    _save(faint, folder / "faint_color.jpg")
    _save(sample_photos["chelsea"], folder / "color.jpg")

    summary = _run([folder], tmp_path / "out")

    assert summary["dropped"] == {"no color": 3}
    kept = {Path(r["source"]).name for r in _manifest(tmp_path / "out") if r["status"] == "kept"}
    assert kept == {"faint_color.jpg", "color.jpg"}


def test_every_mode_and_exif_orientation(tmp_path, sample_photos):
    photo = sample_photos["astronaut"][100:160, 100:180]  # (60, 80, 3): landscape
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(photo).convert("RGBA").save(folder / "rgba.png")
    Image.fromarray(photo).convert("P").save(folder / "palette.gif")
    Image.fromarray(photo).convert("CMYK").save(folder / "cmyk.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees when displayed -> portrait
    Image.fromarray(sample_photos["coffee"][:60, :80]).save(folder / "rotated.jpg", exif=exif)
    Image.fromarray(_gray(photo).astype(np.uint16) * 257).save(folder / "gray16.png")

    _run([folder], tmp_path / "out")

    records = {Path(r["source"]).name: r for r in _manifest(tmp_path / "out")}
    assert {name for name, r in records.items() if r["status"] == "kept"} == {"rgba.png", "palette.gif", "cmyk.jpg",
                                                                            "rotated.jpg"}
    assert records["gray16.png"]["category"] == "no color"
    rotated = Image.open(tmp_path / "out" / records["rotated.jpg"]["file"])
    assert rotated.size == (SIZE, round(SIZE * 80 / 60))  # (width, height): now portrait, aspect kept


def test_resize_keeps_aspect_and_upscales_small_photos(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    _save(sample_photos["coffee"], folder / "big.png")  # 600 x 400
    _save(sample_photos["chelsea"][:40, :60], folder / "small.png")  # 60 x 40
    _run([folder], tmp_path / "out", size=64, val_fraction=0.0)
    sizes = sorted(Image.open(path).size for path in list_images(tmp_path / "out", "train"))
    assert sizes == [(96, 64), (96, 64)]


def test_exact_duplicates_are_dropped_once(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    first = _save(sample_photos["rocket"][:100, :150], folder / "a.png")
    (folder / "copy").mkdir()
    (folder / "copy" / "b.png").write_bytes(first.read_bytes())
    Image.fromarray(sample_photos["rocket"][:100, :150]).save(folder / "c.png", compress_level=1)  # same pixels
    summary = _run([folder], tmp_path / "out")
    assert summary["kept"] == 1 and summary["dropped"] == {"duplicate": 2}
    dropped = [r for r in _manifest(tmp_path / "out") if r["status"] == "dropped"]
    assert all(r["reason"] == f"duplicate of {first}" for r in dropped)


def test_a_duplicate_takes_over_when_its_original_is_removed(tmp_path, sample_photos):
    folder, out = tmp_path / "photos", tmp_path / "out"
    original = _save(sample_photos["rocket"][:100, :150], folder / "a.png")
    _save(sample_photos["rocket"][:100, :150], folder / "b.png", compress_level=1)  # same pixels, other bytes
    assert _run([folder], out)["dropped"] == {"duplicate": 1}
    original.unlink()
    summary = _run([folder], out)
    assert summary["kept"] == 1 and summary["dropped"] == {} and summary["processed"] == 1
    (record,) = _manifest(out)
    assert record["source"].endswith("b.png") and (out / record["file"]).is_file()


def test_paired_gray_color_layout_reads_only_the_color_side(tmp_path, sample_photos):
    root = tmp_path / "pairs"
    for i, photo in enumerate(_crops(sample_photos, 3)):
        _save(photo, root / "Color" / f"{i}.jpg")
        _save(_gray(photo), root / "Gray" / f"{i}.jpg")
    summary = _run([root], tmp_path / "out")
    assert summary["found"] == 6 and summary["kept"] == 3 and summary["dropped"] == {"gray twin": 3}
    assert {Path(r["source"]).parent.name for r in _manifest(tmp_path / "out") if r["status"] == "kept"} == {"Color"}


@pytest.mark.parametrize("color_side", ["y", "x"])
def test_train_x_train_y_layout_uses_the_color_side(tmp_path, sample_photos, color_side):
    root = tmp_path / "dataset"
    gray_side = "x" if color_side == "y" else "y"
    for split in ("train", "test"):
        for i, photo in enumerate(_crops(sample_photos, 2, seed={"train": 1, "test": 2}[split])):
            _save(photo, root / f"{split}_{color_side}" / f"{i}.png")
            _save(_gray(photo), root / f"{split}_{gray_side}" / f"{i}.png")
    summary = _run([root], tmp_path / "out")
    assert summary["found"] == 8 and summary["kept"] == 4 and summary["dropped"] == {"gray twin": 4}
    assert all(f"_{color_side}/" in r["source"] for r in _manifest(tmp_path / "out") if r["status"] == "kept")


def test_zip_with_class_folders_and_pairs(tmp_path, sample_photos):
    archive = tmp_path / "cifar-like.zip"
    photos = _crops(sample_photos, 6, side=32)
    with zipfile.ZipFile(archive, "w") as zf:
        for i, photo in enumerate(photos[:4]):
            split, label = ("train", "test")[i % 2], ("cat", "ship")[i // 2]
            zf.writestr(f"cifar10/{split}/{label}/{i}.jpg", _jpeg_bytes(photo))
        for i, photo in enumerate(photos[4:]):
            zf.writestr(f"pairs/Color/{i}.jpg", _jpeg_bytes(photo))
            zf.writestr(f"pairs/Gray/{i}.jpg", _jpeg_bytes(_gray(photo)))
        zf.writestr("__MACOSX/cifar10/._0.jpg", b"resource fork")
    summary = _run([archive], tmp_path / "out")
    assert summary["found"] == 9 and summary["kept"] == 6 and summary["dropped"] == {"gray twin": 2, "hidden file": 1}
    assert all(r["source"].startswith(f"{archive}!") for r in _manifest(tmp_path / "out"))


def test_zip_with_x_y_pairs_peeks_which_side_has_color(tmp_path, sample_photos):
    archive = tmp_path / "pairs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, photo in enumerate(_crops(sample_photos, 3)):
            zf.writestr(f"data/train_x/{i}.jpg", _jpeg_bytes(photo))  # color on the x side this time
            zf.writestr(f"data/train_y/{i}.jpg", _jpeg_bytes(_gray(photo)))
    summary = _run([archive], tmp_path / "out")
    assert summary["found"] == 6 and summary["kept"] == 3 and summary["dropped"] == {"gray twin": 3}
    assert all("/train_x/" in r["source"] for r in _manifest(tmp_path / "out") if r["status"] == "kept")


def _jpeg_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_download_from_file_url_verifies_checksum_and_caches(tmp_path, sample_photos):
    archive = tmp_path / "remote" / "photos.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for i, photo in enumerate(_crops(sample_photos, 3)):
            zf.writestr(f"{i}.jpg", _jpeg_bytes(photo))
    checksum = hashlib.sha256(archive.read_bytes()).hexdigest()
    url = archive.as_uri()
    cache = tmp_path / "cache"

    summary = prepare([f"{url}#sha256={checksum}"], tmp_path / "out", size=SIZE, workers=1, progress=False,
                      cache_dir=cache)
    assert summary["kept"] == 3
    cached = download(url, sha256=checksum, cache_dir=cache)
    assert cached.parent == cache and cached.read_bytes() == archive.read_bytes()
    archive.unlink()  # the cached copy is used from now on
    assert download(url, sha256=checksum, cache_dir=cache) == cached


def test_wrong_checksum_names_the_url(tmp_path):
    source = tmp_path / "photo.jpg"
    source.write_bytes(_jpeg_bytes(np.zeros((40, 40, 3), np.uint8)))
    with pytest.raises(ValueError, match=r"checksum mismatch for file://.*photo\.jpg"):
        download(source.as_uri(), sha256="f" * 64, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").iterdir())  # nothing half-verified left in the cache


def test_split_is_stable_when_files_are_added(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    photos = _crops(sample_photos, 60, side=40)
    for i, photo in enumerate(photos[:40]):
        _save(photo, folder / f"{i:02d}.jpg")
    _run([folder], tmp_path / "out", val_fraction=0.25)
    before = {r["source"]: r["split"] for r in _manifest(tmp_path / "out")}
    for i, photo in enumerate(photos[40:], start=40):
        _save(photo, folder / f"{i:02d}.jpg")
    summary = _run([folder], tmp_path / "out", val_fraction=0.25)
    after = {r["source"]: r["split"] for r in _manifest(tmp_path / "out")}
    assert summary["processed"] == 20 and summary["found"] == 60
    assert {source: after[source] for source in before} == before
    assert 0 < summary["val"] < summary["train"]


def test_rerun_is_idempotent_and_processes_only_changes(tmp_path, sample_photos):
    folder, out = tmp_path / "photos", tmp_path / "out"
    photos = _crops(sample_photos, 6)
    paths = [_save(photo, folder / f"{i}.png") for i, photo in enumerate(photos)]
    first = _run([folder], out, val_fraction=0.3)
    manifest = (out / "manifest.jsonl").read_bytes()
    stored = {p: p.stat().st_mtime_ns for p in list_images(out, "train") + list_images(out, "val")}

    second = _run([folder], out, val_fraction=0.3)
    assert second["processed"] == 0 and {k: v for k, v in second.items() if k not in ("processed", "reused")} == {
        k: v for k, v in first.items() if k not in ("processed", "reused")}
    assert (out / "manifest.jsonl").read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in stored} == stored

    _save(np.ascontiguousarray(photos[0][::-1]), paths[0])  # changed content
    paths[1].unlink()  # removed
    third = _run([folder], out, val_fraction=0.3)
    assert third["processed"] == 1 and third["found"] == 5 and third["kept"] == 5
    assert len(list_images(out, "train") + list_images(out, "val")) == 5  # the removed photo's output is gone

    moved = _run([folder], out, val_fraction=0.9)  # only moves files between splits
    assert moved["processed"] == 0 and moved["val"] > third["val"]
    assert len(list_images(out, "val")) == moved["val"]


def test_output_may_not_overlap_a_source_and_foreign_files_survive(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    _save(sample_photos["coffee"][:100, :150], folder / "a.jpg")
    with pytest.raises(ValueError, match="overlap"):
        _run([folder], folder / "prepared")
    out = tmp_path / "out"
    _run([folder], out)
    foreign = [_save(sample_photos["chelsea"][:50, :50], out / "train" / "mine.jpg"),
               _save(sample_photos["chelsea"][:60, :50], out / "val" / f"{'ab' * 12}.jpg")]  # named like ours
    before = [path.read_bytes() for path in foreign]
    (folder / "a.jpg").unlink()
    _save(sample_photos["coffee"][:90, :150], folder / "b.jpg")
    _run([folder], out)
    assert [path.read_bytes() for path in foreign] == before  # a rerun removes only stale photos it wrote itself
    assert len(list_images(out, "train") + list_images(out, "val")) == 3  # a.jpg's photo went, b.jpg's came


def test_default_source_is_scikit_image_color_photos(tmp_path):
    summary = prepare([], tmp_path / "out", size=SIZE, val_fraction=0.3, progress=False)
    assert summary["found"] == summary["kept"] >= 8
    assert summary["val"] >= 1 and summary["train"] >= 1  # the smoke profile trains and validates on these
    for path in list_images(tmp_path / "out", "val"):
        rgb = np.asarray(Image.open(path))
        assert min(rgb.shape[:2]) == SIZE and has_color(rgb)


def test_cli_prints_summary_and_fails_only_without_usable_photos(tmp_path, sample_photos, capsys):
    folder = tmp_path / "photos"
    _save(sample_photos["chelsea"], folder / "cat.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 nope")
    assert main(["prepare", str(folder), "--out", str(tmp_path / "out"), "--size", "32", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "found 2 files: kept 1" in printed and "not an image: 1" in printed
    assert f"{folder / 'broken.jpg'}: not an image (unrecognized format)" in printed  # each dropped file named

    (folder / "cat.jpg").unlink()
    assert main(["prepare", str(folder), "--out", str(tmp_path / "out2"), "--size", "32"]) == 1
    assert main(["prepare", str(tmp_path / "missing"), "--out", str(tmp_path / "out3")]) == 2
    assert "source not found" in capsys.readouterr().err


def test_parallel_workers_match_a_single_process(tmp_path, sample_photos):
    folder = tmp_path / "photos"
    for i, photo in enumerate(_crops(sample_photos, 30, side=40)):
        _save(photo, folder / f"{i:02d}.jpg")
    (folder / "bad.jpg").write_bytes(b"junk")
    one = _run([folder], tmp_path / "one", workers=1)
    two = _run([folder], tmp_path / "two", workers=2)
    assert one == two and one["kept"] == 30
    assert _manifest(tmp_path / "one") == _manifest(tmp_path / "two")


@pytest.mark.shared
@pytest.mark.slow
def test_real_photo_folder(tmp_path, shared_datasets):
    """../shared/datasets/photos: every color photo kept, the gray ones dropped, ~5% val, re-run changes nothing."""
    photos = shared_datasets / "photos"
    out = tmp_path / "photos"
    summary = prepare([photos], out, size=64, progress=False)
    records = {Path(r["source"]).name: r for r in _manifest(out)}

    assert summary["found"] == len(records) == 1694 and summary["dropped"].keys() == {"no color"}
    for name, record in records.items():
        image = Image.open(Path(record["source"]))
        if image.mode == "L":
            assert record["category"] == "no color", name  # the 23 photos stored as grayscale
            continue
        rgb = np.asarray(image.convert("RGB"), np.int16)
        colored_fraction = ((rgb.max(-1) - rgb.min(-1)) > 10).mean()  # pixels whose channels differ visibly
        if colored_fraction > 0.01:
            assert record["status"] == "kept", name
        else:
            assert colored_fraction < 0.005, name  # nothing between: the check below is meaningful
            assert record["category"] == "no color", name  # black-and-white photos saved as RGB
    assert sum(Image.open(Path(r["source"])).mode == "L" for r in records.values()) == 23
    assert 0.03 < summary["val"] / summary["kept"] < 0.07

    manifest = (out / "manifest.jsonl").read_bytes()
    again = prepare([photos], out, size=64, progress=False)
    assert again["processed"] == 0 and again["kept"] == summary["kept"] and again["val"] == summary["val"]
    assert (out / "manifest.jsonl").read_bytes() == manifest


def test_phone_photos_are_read_and_every_other_file_is_named_and_counted(tmp_path, sample_photos, capsys):
    folder = tmp_path / "phone"
    crops = _crops(sample_photos, 3)
    _save(crops[0], folder / "IMG_0001.heic")
    _save(crops[1], folder / "a.png")
    _save(crops[2], folder / "b.png")
    (folder / "IMG_0001.aae").write_text("<plist>edits of IMG_0001</plist>")  # an iPhone's sidecar file
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    out = tmp_path / "out"
    assert main(["prepare", str(folder), "--out", str(out), "--size", "32", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "found 5 files: kept 3" in printed
    assert "dropped, hidden file: 1" in printed and "dropped, unsupported file type: 1" in printed
    assert f"{folder / 'IMG_0001.aae'}: unsupported file type: colorgan does not read .aae files" in printed
    assert f"{folder / '.DS_Store'}: hidden file" in printed
    summary = _run([folder], out)
    assert summary["processed"] == 0 and summary["reused"] == 3 and summary["found"] == 5


def test_a_heic_dropped_for_want_of_the_plugin_is_read_once_it_is_there(tmp_path, sample_photos, monkeypatch):
    from colorgan import images

    folder = tmp_path / "phone"
    _save(_crops(sample_photos, 1)[0], folder / "IMG_0001.heic")
    with monkeypatch.context() as without_plugin:
        without_plugin.setattr(images, "pillow_heif", None)
        without_plugin.setattr(Image, "ID", [name for name in Image.ID if name != "HEIF"])
        assert _run([folder], tmp_path / "out")["dropped"] == {"needs pillow-heif": 1}
    reason = _manifest(tmp_path / "out")[0]["reason"]
    assert "pip install pillow-heif" in reason
    assert _run([folder], tmp_path / "out")["kept"] == 1  # same file, plugin installed: looked at again


def test_original_photos_are_the_unchanged_sources_of_a_split(tmp_path, sample_photos):
    from colorgan.data import original_photos

    folder = tmp_path / "photos"
    for i, photo in enumerate(_crops(sample_photos, 6, side=64)):
        _save(photo, folder / f"{i}.png")
    out = tmp_path / "out"
    _run([folder], out, size=SIZE, val_fraction=0.5)
    prepared = list_images(out, "val")
    originals = original_photos(out, "val")
    assert len(originals) == len(prepared) >= 1
    kept = {Path(r["source"]).name: r["file"] for r in _manifest(out) if r.get("split") == "val"}
    assert sorted(p.name for p in originals) == sorted(kept) and all(p.parent == folder for p in originals)
    assert Image.open(originals[0]).size == (96, 64)  # the original size, not the prepared SIZE
    # A source changed since preparation is another photo: its prepared copy stands in.
    changed = originals[0]
    _save(np.zeros((64, 96, 3), np.uint8) + 90, changed)
    again = original_photos(out, "val")
    assert changed not in again and out / kept[changed.name] in again and len(again) == len(prepared)
    # So does every photo of a zip source, and without a manifest the prepared copies are the list.
    (out / "manifest.jsonl").unlink()
    assert original_photos(out, "val") == prepared


def test_prepare_into_a_folder_of_the_users_files_changes_none_of_them(tmp_path, sample_photos, capsys):
    folder = tmp_path / "photos"
    _save(sample_photos["coffee"][:100, :150], folder / "a.jpg")
    user = tmp_path / "userdir"
    (user / "train").mkdir(parents=True)
    (user / "summary.json").write_text('{"my": "notes"}')
    (user / "manifest.jsonl").write_text('{"shipment": 1}\n')
    (user / "train" / f"{'0123456789ab' * 2}.jpg").write_bytes(b"the user's only scan")
    before = {path: path.read_bytes() for path in user.rglob("*") if path.is_file()}
    assert main(["prepare", str(folder), "--out", str(user)]) == 2
    assert f"the output folder {user} holds files colorgan prepare did not write" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in user.rglob("*") if path.is_file()} == before
    assert main(["prepare", str(folder), "--out", str(tmp_path / "new")]) == 0  # a new folder: fine
    assert main(["prepare", str(folder), "--out", str(tmp_path / "new")]) == 0  # and its own again


def test_prepare_takes_relative_sources_and_out_from_the_current_folder(tmp_path, sample_photos, monkeypatch):
    _save(sample_photos["coffee"][:100, :150], tmp_path / "photos" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    assert main(["prepare", "photos", "--out", "prepared"]) == 0
    assert len(list_images(tmp_path / "prepared", "train") + list_images(tmp_path / "prepared", "val")) == 1


def test_links_and_unreadable_folders_are_named_and_the_rest_is_prepared(tmp_path, sample_photos, deny_reading):
    folder = tmp_path / "photos"
    _save(sample_photos["coffee"][:100, :150], folder / "a.jpg")
    _save(sample_photos["chelsea"][:100, :150], tmp_path / "elsewhere" / "b.jpg")
    (folder / "private").mkdir()
    (folder / "d.jpg").symlink_to("/nonexistent.jpg")
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    (folder / "more").symlink_to(tmp_path / "elsewhere")
    (folder / "c.jpg").symlink_to(folder / "a.jpg")  # a link to a photo is read (and found a duplicate)
    deny_reading(folder / "private")
    summary = _run([folder], tmp_path / "out")
    reasons = {Path(r["source"]).name: r.get("reason", "") for r in _manifest(tmp_path / "out")}
    assert summary["kept"] == 1 and reasons["c.jpg"] == f"duplicate of {folder / 'a.jpg'}"
    assert reasons["d.jpg"] == "broken symbolic link: points to /nonexistent.jpg, which does not exist"
    assert reasons["loop.jpg"].startswith("symbolic link loop")
    assert reasons["more"].startswith("symbolic link to a folder: not followed")
    assert reasons["private"] == "unreadable folder: Permission denied"


def test_an_oversized_zip_member_is_named_and_never_read_whole(tmp_path, sample_photos, monkeypatch):
    from colorgan.data import sources

    photo = io.BytesIO()
    Image.fromarray(sample_photos["coffee"][:100, :150]).save(photo, "JPEG")
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("album/small.jpg", photo.getvalue())
        bundle.writestr("album/huge.tif", b"\0" * 50_000)
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 40_000)
    summary = _run([archive], tmp_path / "out")
    reasons = {r["source"].split("!")[1]: r.get("reason", "") for r in _manifest(tmp_path / "out")}
    assert summary["kept"] == 1 and reasons["album/huge.tif"] == (
        "too large: 50,000 bytes inside the archive, above the limit of 40,000")
    with pytest.raises(OSError, match="larger than 40,000 bytes"):
        sources._read_member(zipfile.ZipFile(archive), "album/huge.tif")


def test_zip_folders_find_their_first_photo_without_scanning_every_member(tmp_path, sample_photos):
    """Twin folders are recognised from each folder's first photo, found in one pass over the members."""
    from colorgan.data import sources

    color, gray = io.BytesIO(), io.BytesIO()
    Image.fromarray(sample_photos["coffee"][:64, :64]).save(color, "PNG")
    Image.fromarray(sample_photos["coffee"][:64, :64]).convert("L").save(gray, "PNG")
    archive = tmp_path / "pairs.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for index in range(300):  # many one-file folders, as in the archives that made the listing quadratic
            bundle.writestr(f"notes/{index:03d}/readme.txt", b"x")
        bundle.writestr("set/train_x/0.png", gray.getvalue())
        bundle.writestr("set/train_y/0.png", color.getvalue())
    items = {item.member: item.skip for item in sources._walk_zip(archive)}
    assert items["set/train_x/0.png"] == sources.GRAY_TWIN and items["set/train_y/0.png"] is None
    assert len(items) == 302
