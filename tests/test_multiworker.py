"""Training on a cluster: two worker processes on localhost (CPU, TF_CONFIG) train like one process,
write one run folder, and resume from the chief's checkpoint after a worker is killed.

Comparable by construction: the same seed gives every process the same initial weights, shuffle
and crops; DATA sharding hands each worker one half of the global batch one process would see;
BatchNorm is synchronized across replicas; dropout is off (replicas draw other masks than one process);
4 training photos at batch 2 make every batch whole. The two runs then differ only in float
summation order: measured at most 1.6e-7 relative on every loss and validation figure (RTOL
leaves 60x room).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from colorgan import checkpoint, distribute, runs, training
from colorgan.config import resolve_config

TINY = {"image_size": 32, "base_filters": 8, "batch_size": 2, "steps_per_epoch": 2, "sample_count": 2,
        "precision": "float32", "dropout_rate": 0.0, "calibrate": False}
RTOL = 1e-5
COMPARED = ("generator_loss", "gan_loss", "discriminator_loss", "l1", "val_l1", "val_psnr", "val_ciede2000",
            "val_colorfulness")
STARTUP_TIMEOUT = 120  # seconds for the workers to import TensorFlow, meet and finish what is asked


@pytest.fixture(scope="module")
def prepared(tmp_path_factory, sample_photos):
    """4 train photos (two whole batches of 2) and 2 val photos, short side 40."""
    folder = tmp_path_factory.mktemp("prepared")
    for index, (name, photo) in enumerate(sorted(sample_photos.items())[:6]):
        split = folder / ("train" if index < 4 else "val")
        split.mkdir(exist_ok=True)
        cv2.imwrite(str(split / f"{name}.png"), cv2.resize(photo, (40, 40))[..., ::-1])
    return folder


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("localhost", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Cluster:
    """Two `colorgan train` workers on localhost; each in its own process group, logs in files."""

    def __init__(self, tmp_path, prepared, **parameters):
        self.tmp_path, self.processes, self.logs = tmp_path, [], []
        config = {**TINY, "models_dir": str(tmp_path / "models"), **parameters}
        self.command = [sys.executable, "-m", "colorgan", "train", "--prepared-dir", str(prepared),
                        "--run-name", "tiny"] + [part for name, value in config.items()
                                                 for part in ("-p", f"{name}={json.dumps(value)}")]

    def start(self, label):
        addresses = [f"localhost:{port}" for port in free_ports(2)]
        (self.tmp_path / "worker_tmp").mkdir(exist_ok=True)  # where non-chief workers keep their files
        for index in range(2):
            environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
                           "TMPDIR": str(self.tmp_path / "worker_tmp"),
                           "TF_CONFIG": json.dumps({"cluster": {"worker": addresses},
                                                    "task": {"type": "worker", "index": index}})}
            log = self.tmp_path / f"{label}_worker{index}.log"
            with open(log, "w") as file:
                self.processes.append(subprocess.Popen(self.command, stdout=file, stderr=subprocess.STDOUT,
                                                       env=environment, start_new_session=True))
            self.logs.append(log)
        return self.processes[-2:]

    def output(self, process):
        return self.logs[self.processes.index(process)].read_text()[-3000:]

    def wait(self, process, timeout):
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker still running after {timeout} s:\n{self.output(process)}")

    def kill_all(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_two_workers_train_like_one_process_and_resume_after_a_worker_is_killed(prepared, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    single = training.train({**TINY, "epochs": 2, "prepared_dir": str(prepared),
                             "models_dir": str(tmp_path / "single"), "run_name": "tiny"}, verbose=0)
    reference = runs.read_history(single["run_dir"])

    folder = tmp_path / "models" / "tiny"
    state = folder / runs.CHECKPOINT_PATH
    cluster = Cluster(tmp_path, prepared, epochs=1000)  # runs until killed
    try:
        chief, worker = cluster.start("first")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and chief.poll() is None and worker.poll() is None:
            if (folder / runs.HISTORY_NAME).is_file() and len(runs.read_history(folder).get("epoch", [])) >= 2:
                break
            time.sleep(0.2)
        assert chief.poll() is None and worker.poll() is None, cluster.output(chief) + cluster.output(worker)
        assert len(runs.read_history(folder)["epoch"]) >= 2, "no two epochs within the time limit"
        chief.send_signal(signal.SIGKILL)  # the chief: the worker that writes the checkpoint
        chief.wait()
        # The other worker notices (its collectives are aborted) and stops by itself, saying where to resume.
        assert cluster.wait(worker, timeout=60) == 1
        assert "a worker of the cluster stopped" in cluster.output(worker)
        history = runs.read_history(folder)
        for name in COMPARED:  # the first two epochs: the same numbers as one process
            np.testing.assert_allclose(history[name][:2], reference[name], rtol=RTOL, err_msg=name)

        epoch = checkpoint.read_meta(state)["epoch"]  # an atomic replace: always a whole checkpoint
        assert epoch >= 2
        cluster = Cluster(tmp_path, prepared, epochs=epoch + 1)
        chief, worker = cluster.start("restart")
        assert cluster.wait(chief, STARTUP_TIMEOUT) == 0, cluster.output(chief)
        assert cluster.wait(worker, STARTUP_TIMEOUT) == 0, cluster.output(worker)
    finally:
        cluster.kill_all()

    # Resumed, not restarted: both began after the checkpoint's epoch, and the history continues.
    for process in (chief, worker):
        assert f"resuming tiny after epoch {epoch} (step {2 * epoch})" in cluster.output(process)
    assert f"epoch {epoch + 1}, step {2 * (epoch + 1)}" in cluster.output(chief)
    assert checkpoint.read_meta(state)["epoch"] == epoch + 1
    epochs = runs.read_history(folder)["epoch"]
    assert epochs[:2].tolist() == [0, 1] and epochs[-1] == epoch and (np.diff(epochs) > 0).all()
    # One run folder, written by the chief; the other worker's temporary folder is gone.
    assert [path.name for path in (tmp_path / "models").iterdir()] == ["tiny"]
    assert {runs.CONFIG_NAME, runs.HISTORY_NAME, runs.GENERATOR_NAME, "checkpoint", runs.SAMPLES_DIR} <= \
        {path.name for path in folder.iterdir()}
    assert not list((tmp_path / "worker_tmp").glob("colorgan-*"))


def test_a_cluster_comes_from_tf_config_with_more_than_one_task(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.cluster_resolver() is None
    one = {"cluster": {"worker": ["localhost:1111"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(one))
    assert distribute.cluster_resolver() is None  # a cluster of one trains as today
    two = {"cluster": {"chief": ["host0:1111"], "worker": ["host1:1111"]}, "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(two))
    resolver = distribute.cluster_resolver()
    assert resolver.cluster_spec().as_dict() == two["cluster"] and resolver.task_type == "worker"
    monkeypatch.setenv("TF_CONFIG", json.dumps({**two, "cluster": {**two["cluster"], "ps": ["host2:1111"]}}))
    with pytest.raises(ValueError, match="no parameter servers"):
        distribute.cluster_resolver()
    with pytest.raises(ValueError, match="cluster must be one of"):
        distribute.cluster_resolver("kubernetes")


def test_slurm_is_asked_for_and_maps_tasks_to_workers(monkeypatch):
    for name in ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST", "SLURM_STEP_TASKS_PER_NODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="srun"):
        distribute.cluster_resolver("slurm")
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "2")
    monkeypatch.setenv("SLURM_STEP_NODELIST", "node[07-08]")
    monkeypatch.setenv("SLURM_STEP_TASKS_PER_NODE", "1(x2)")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # CPU nodes
    assert distribute.cluster_resolver() is None  # Slurm variables alone do not make a cluster
    resolver = distribute.cluster_resolver("slurm")
    assert resolver.cluster_spec().as_dict() == {"worker": ["node07:8888", "node08:8888"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_workers_get_whole_global_batches_sharded_by_data(prepared):
    import tensorflow as tf

    config = resolve_config({**TINY, "batch_size": 3, "prepared_dir": str(prepared)})
    train, val = (distribute.for_workers(data) for data in training.make_datasets(config, drop_remainder=True))
    assert [len(L) for L, _ in val] == [] and [len(L) for L, _ in train.take(3)] == [3, 3, 3]  # 2 val photos: none
    assert train.options().experimental_distribute.auto_shard_policy == tf.data.experimental.AutoShardPolicy.DATA


def test_a_cluster_refuses_an_uneven_global_batch_and_xla_on_cpus():
    from types import SimpleNamespace

    import tensorflow as tf

    two_replicas = SimpleNamespace(num_replicas_in_sync=2)
    distribute.check_cluster_config(two_replicas, batch_size=16, xla=False)
    with pytest.raises(ValueError, match="multiple of the 2 replicas"):
        distribute.check_cluster_config(two_replicas, batch_size=15, xla=False)
    if not tf.config.list_logical_devices("GPU"):
        with pytest.raises(ValueError, match="no XLA collectives for CPUs"):
            distribute.check_cluster_config(two_replicas, batch_size=16, xla=True)
