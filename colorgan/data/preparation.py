"""Dataset preparation: any sources of photos -> a prepared folder, a manifest and a summary.

Streaming and parallel: source files are listed lazily as small records, worker processes
read, check, resize and write one photo each and send back a record (never pixels), so peak
memory does not grow with the number of photos. Re-running is incremental: a file whose size
and modification time (or zip CRC) did not change keeps its previous record and output.

Preparation owns only what it wrote: it writes into a new or empty folder, or one it prepared before
(``layout.MARKER_NAME``), and deletes only photos its last manifest lists; anything else is left alone.
"""

import json
import multiprocessing
import os
import re
from collections import Counter
from pathlib import Path

from tqdm.auto import tqdm

from colorgan.data import process
from colorgan.data.download import is_url
from colorgan.data.layout import MANIFEST_NAME, MARKER_NAME, SPLITS, SUMMARY_NAME, read_manifest
from colorgan.data.sources import find_items, read_item
from colorgan.images import NEEDS_HEIF_PLUGIN
from colorgan.paths import resolve

_TEMPORARY_NAME = re.compile(r"\.[0-9a-f]{24}\.jpg\.\d+\.tmp")  # process.write_photo's temporary files
_CHUNK = 8  # photos per task sent to a worker: amortizes the inter-process round trip
_INLINE_BELOW = 24  # fewer photos than this are processed in this process (starting workers costs ~1 s)
# Drops that depend on this installation or on the rules, not on the file: looked at again on every run.
_RETRY = frozenset({process.reason_category(NEEDS_HEIF_PLUGIN), "unsupported file type", "hidden file", "gray twin"})


def prepare(sources=(), out="data/prepared/default", size=256, val_fraction=0.05, seed=0, workers=None,
            min_size=process.MIN_SIZE, progress=True, cache_dir=None):
    """Prepare photos from ``sources`` (folders, .zip archives, URLs; empty = scikit-image samples) into ``out``.

    Writes ``<out>/train/*.jpg``, ``<out>/val/*.jpg`` (color photos, short side = ``size``),
    ``<out>/manifest.jsonl`` (one record per file found) and ``<out>/summary.json``.

    Worker processes are spawned (safe beside TensorFlow), so a script that calls this must do
    so under ``if __name__ == "__main__":``, as usual for multiprocessing.

    Returns:
        The summary dict: found, kept, train, val, dropped (counts by reason), processed, reused.
    """
    if not 0.0 <= float(val_fraction) <= 1.0:
        raise ValueError(f"val_fraction must be in [0, 1] (1: a folder to validate on only), got {val_fraction}")
    if int(size) < min_size:
        raise ValueError(f"size must be at least {min_size} pixels, got {size}")
    source_names = [str(s) for s in ([sources] if isinstance(sources, (str, Path)) else sources)]
    out = resolve(out).resolve()
    _check_no_overlap(source_names, out)
    _claim(out)
    for split in SPLITS:
        (out / split).mkdir(parents=True, exist_ok=True)
    settings = {"size": int(size), "val_fraction": float(val_fraction), "seed": int(seed), "min_size": int(min_size)}

    written = _files_written_before(out)  # and, below, every photo this run writes
    previous = _previous_records(out, settings)
    items, records, todo, reused = [], [], [], 0  # one item and record per file in source order; todo: what changed
    for item in find_items(source_names, cache_dir=cache_dir):
        items.append(item)
        if item.skip:  # not a photo colorgan reads: recorded with the reason, never opened
            records.append({"source": item.origin, "signature": item.signature, "status": "dropped",
                            "reason": item.skip, "category": process.reason_category(item.skip)})
            continue
        old = previous.get(item.origin)
        reusable = old is not None and old["signature"] == item.signature and (
            old.get("category") not in _RETRY if old["status"] == "dropped" else (out / old["file"]).is_file())
        records.append(old if reusable else None)
        reused += reusable
        if not reusable:
            todo.append((len(records) - 1, item))

    options = (out, settings["size"], settings["val_fraction"], settings["seed"], settings["min_size"])
    for index, record in _process_all(todo, options, workers, progress):
        records[index] = record
        written.add(record.get("file"))
    records = _drop_duplicates(records)
    # A duplicate kept from the last run whose original is gone now stands alone: write its photo.
    orphans = [(i, items[i]) for i, r in enumerate(records) if r["status"] == "kept" and not _output_exists(r, out)]
    for index, record in _process_all(orphans, options, workers=1, progress=False):
        records[index] = record
        written.add(record.get("file"))
    _place_kept_photos(records, out, settings)
    _remove_stale_outputs(records, out, written - {None})

    summary = _summarize(records, settings, source_names, processed=len(todo) + len(orphans), reused=reused)
    _write_json_lines(out / MANIFEST_NAME, records)
    (out / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _check_no_overlap(source_names, out: Path):
    """Refuse an output folder inside a source (or the reverse): stale outputs are deleted there."""
    for name in source_names:
        if is_url(name):
            continue
        source = resolve(name).resolve()
        if source == out or source in out.parents or out in source.parents:
            raise ValueError(f"the output folder {out} and the source {source} overlap: write to another folder")


def _claim(out: Path):
    """Make ``out`` a folder of colorgan's, or refuse one that holds files colorgan did not write."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"the output {out} is a file, not a folder: prepare into a new or empty folder")
    if (out / MARKER_NAME).is_file():
        return
    if out.is_dir() and any(out.iterdir()) and not _prepared_before_markers(out):
        names = sorted(path.name for path in out.iterdir())
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise ValueError(f"the output folder {out} holds files colorgan prepare did not write ({shown}); "
                         "prepare into a new or empty folder: colorgan never replaces or deletes files it did not write")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER_NAME).write_text(json.dumps({"written_by": "colorgan prepare"}) + "\n")


def _prepared_before_markers(out: Path) -> bool:
    """A folder colorgan prepared before it left a marker: its summary.json has every key colorgan writes."""
    try:
        summary = json.loads((out / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        return False
    keys = {"found", "kept", "train", "val", "dropped", "processed", "reused", "sources", "size", "min_size"}
    return isinstance(summary, dict) and keys <= set(summary) and (out / MANIFEST_NAME).is_file()


def _files_written_before(out: Path) -> set:
    """The prepared photos the last manifest lists (``split/name``): the only photos preparation may delete."""
    try:
        return {record["file"] for record in read_manifest(out) if record.get("status") == "kept" and "file" in record}
    except (ValueError, OSError, KeyError, TypeError):
        return set()  # no readable manifest: delete nothing


def format_summary(summary) -> str:
    """The summary as a few lines a person reads."""
    lines = [f"found {summary['found']} files: kept {summary['kept']} "
             f"(train {summary['train']}, val {summary['val']}), dropped {sum(summary['dropped'].values())}"]
    lines += [f"  dropped, {reason}: {count}" for reason, count in sorted(summary["dropped"].items())]
    lines.append(f"processed {summary['processed']}, unchanged {summary['reused']} (size {summary['size']} px)")
    return "\n".join(lines)


def format_dropped(prepared_dir, limit=20) -> str:
    """Each file not kept, with its reason: the first ``limit`` of them (manifest.jsonl holds all)."""
    dropped = [record for record in read_manifest(prepared_dir) if record["status"] == "dropped"]
    lines = [f"  {record['source']}: {record['reason']}" for record in dropped[:limit]]
    if len(dropped) > limit:
        lines.append(f"  ... and {len(dropped) - limit} more in {resolve(prepared_dir) / MANIFEST_NAME}")
    return "\n".join(lines)


def _previous_records(out: Path, settings) -> dict:
    """Records of the last run by origin, or {} when there is none or it used another size."""
    summary_path, manifest_path = out / SUMMARY_NAME, out / MANIFEST_NAME
    if not (summary_path.is_file() and manifest_path.is_file()):
        return {}
    try:
        summary = json.loads(summary_path.read_text())
        if summary.get("size") != settings["size"] or summary.get("min_size") != settings["min_size"]:
            return {}  # every stored photo has the wrong size: start over (stale files are removed at the end)
        records = [json.loads(line) for line in manifest_path.read_text().splitlines() if line.strip()]
    except (ValueError, OSError):
        return {}  # an unreadable manifest only costs a full re-run
    return {record["source"]: record for record in records if "signature" in record}


def _worker_init(options):
    global _OPTIONS
    _OPTIONS = options


def _process_one(task):
    index, item = task
    try:
        data = read_item(item)
    except OSError as error:
        return index, {"source": item.origin, "signature": item.signature, "status": "dropped",
                       "reason": f"unreadable: {error}", "category": "unreadable"}
    record = process.process_bytes(data, item.origin, *_OPTIONS)
    return index, {**record, "signature": item.signature}


def _process_all(todo, options, workers, progress):
    """Yield (index, record) for each (index, item) in ``todo``, in parallel when it pays."""
    workers = max(1, int(workers or len(os.sched_getaffinity(0))))
    bar = tqdm(total=len(todo), desc="preparing", unit="photo", disable=not progress or not todo)
    if workers == 1 or len(todo) < _INLINE_BELOW:
        _worker_init(options)
        results = map(_process_one, todo)
        for result in results:
            bar.update()
            yield result
    else:
        # spawn, not fork: the caller (a notebook) may already run TensorFlow threads.
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_worker_init, initargs=(options,)) as pool:
            for result in pool.imap(_process_one, todo, chunksize=_CHUNK):
                bar.update()
                yield result
    bar.close()


def _drop_duplicates(records):
    """Keep the first of photos with identical pixels (in source order); later copies are dropped."""
    first_by_pixels = {}
    for record in records:
        if record["status"] == "dropped" and record.get("category") != "duplicate":
            continue
        first = first_by_pixels.setdefault(record["pixels"], record)
        if first is record:
            if record["status"] == "dropped":  # a former duplicate whose original is gone
                record["status"] = "kept"
                record.pop("reason"), record.pop("category")
        else:
            record.update(status="dropped", reason=f"duplicate of {first['source']}", category="duplicate")
            record.pop("split", None)
            record.pop("file", None)
    return records


def _output_exists(record, out: Path) -> bool:
    return any((out / split / process.output_name(record["sha256"])).is_file() for split in SPLITS)


def _place_kept_photos(records, out: Path, settings):
    """Put each kept photo in the split its hash decides (moves files when val_fraction or seed changed)."""
    for record in records:
        if record["status"] != "kept":
            continue
        split = process.split_of(record["sha256"], settings["val_fraction"], settings["seed"])
        relative = f"{split}/{process.output_name(record['sha256'])}"
        if not (out / relative).is_file():
            existing = [out / s / process.output_name(record["sha256"]) for s in SPLITS]
            existing = [path for path in existing if path.is_file()]
            if not existing:
                raise ValueError(f"prepared photo for {record['source']} is missing from {out}; run again")
            os.replace(existing[0], out / relative)
        record.update(split=split, file=relative)


def _remove_stale_outputs(records, out: Path, written):
    """Delete photos the last run or this one wrote that no record keeps now (sources removed or changed, duplicates,
    another size), and temporary files of an interrupted run; never a file someone else put there."""
    keep = {record["file"] for record in records if record["status"] == "kept"}
    for relative in written - keep:
        (out / relative).unlink(missing_ok=True)
    for split in SPLITS:
        for path in (out / split).iterdir():
            if _TEMPORARY_NAME.fullmatch(path.name):
                path.unlink()


def _summarize(records, settings, source_names, processed, reused):
    kept = [r for r in records if r["status"] == "kept"]
    return {
        "found": len(records),
        "kept": len(kept),
        "train": sum(r["split"] == "train" for r in kept),
        "val": sum(r["split"] == "val" for r in kept),
        "dropped": dict(sorted(Counter(r["category"] for r in records if r["status"] == "dropped").items())),
        "processed": processed,
        "reused": reused,
        "sources": source_names or ["scikit-image sample photos"],
        **settings,
    }


def _write_json_lines(path: Path, records):
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(json.dumps(record, sort_keys=True) + "\n" for record in records))
    os.replace(temporary, path)
