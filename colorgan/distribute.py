"""Where a training run computes: one device, the GPUs of one machine, or a cluster of workers.

A cluster is what ``TF_CONFIG`` describes (Kubernetes, Vertex AI and most launchers write it), or,
when asked for (``cluster="slurm"``, ``colorgan train --cluster slurm``), the tasks of a Slurm job
step. With more than one task, training runs under ``tf.distribute.MultiWorkerMirroredStrategy``:

- every worker runs the same code; ``batch_size`` is the global batch, split evenly over all replicas
  (BatchNorm is synchronized across them, ``models.batch_norm_layer``), so a step on N workers is a step
  on one device with the same batch;
- each worker keeps its slice of every global batch (``for_workers``, DATA sharding);
- the chief (task ``chief``, else ``worker`` 0) alone writes the run folder; the others write the
  same files into a temporary folder, removed at the end (``write_folder``);
- every worker resumes from the chief's checkpoint, so ``models_dir`` must be on a filesystem all
  workers see, as for ``keras.callbacks.BackupAndRestore``; ``check_agreement`` stops workers that
  would start from different places, instead of letting them wait on each other forever.

MultiWorkerMirroredStrategy sets up TensorFlow's collective ops, which is only possible before the
process runs its first TensorFlow operation: ``strategy()`` must come first (``training.train``
calls it before it reads any data).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from colorgan import checkpoint

CLUSTERS = ("auto", "slurm")  # auto: TF_CONFIG when it names more than one task, else this machine
SLURM_PORT = 8888  # the first port of a Slurm task (the next tasks on a node take the next ports)


class WorkerLost(RuntimeError):
    """A worker of the cluster stopped (killed, preempted, crashed); the others stop with this error."""


def cluster_resolver(cluster="auto"):
    """The resolver of a cluster of more than one task, or None (train on this machine alone).

    Raises:
        ValueError: an unknown ``cluster``, or a TF_CONFIG colorgan cannot train with (parameter
            servers, an evaluator task).
    """
    if cluster not in CLUSTERS:
        raise ValueError(f"cluster must be one of {CLUSTERS}, got {cluster!r}")
    if cluster == "slurm":
        return _slurm_resolver()
    if not os.environ.get("TF_CONFIG"):
        return None
    try:
        spec = json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not JSON: {error}") from None
    jobs, task = spec.get("cluster", {}), spec.get("task", {}).get("type")
    if set(jobs) - {"chief", "worker"} or task not in (None, "chief", "worker"):
        raise ValueError(f"TF_CONFIG has jobs {sorted(jobs)} and this task is {task!r}: colorgan trains with "
                         "MultiWorkerMirroredStrategy, whose tasks are 'chief' and 'worker' only (no parameter "
                         "servers; the chief scores every epoch, so no evaluator)")
    if sum(len(jobs.get(job, [])) for job in ("chief", "worker")) <= 1:
        return None  # a cluster of one: the same as no cluster
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()


def _slurm_resolver():
    """Every task of the Slurm job step is a worker; task 0 is the chief."""
    missing = [name for name in ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST",
                                 "SLURM_STEP_TASKS_PER_NODE") if name not in os.environ]
    if missing:
        raise ValueError(f"cluster='slurm' needs a Slurm job step (run it with srun): {missing} not set")
    tasks = int(os.environ["SLURM_STEP_NUM_TASKS"])
    if tasks <= 1:
        return None
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    if gpus == "" or (gpus is None and shutil.which("nvidia-smi") is None):
        # TF's resolver hands out GPUs while it hands out ports; on CPU nodes give it one GPU number
        # per task, for the ports, and keep it from setting CUDA_VISIBLE_DEVICES.
        return tf.distribute.cluster_resolver.SlurmClusterResolver(
            port_base=SLURM_PORT, gpus_per_node=tasks, gpus_per_task=1, auto_set_gpu=False)
    return tf.distribute.cluster_resolver.SlurmClusterResolver(port_base=SLURM_PORT)


_cluster_strategy = None  # a process configures collective ops once: its one MultiWorkerMirroredStrategy


def strategy(cluster="auto"):
    """MultiWorkerMirroredStrategy over a cluster; else MirroredStrategy over this machine's GPUs when
    there are several; else the default strategy (one device)."""
    global _cluster_strategy
    resolver = cluster_resolver(cluster)
    if resolver is None:
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if _cluster_strategy is None:
        try:
            _cluster_strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        except RuntimeError as error:
            raise RuntimeError(
                f"{error}. TF_CONFIG (or Slurm) describes a cluster, and MultiWorkerMirroredStrategy must be created "
                "before TensorFlow runs anything in this process: use `colorgan train`, or call "
                "colorgan.distribute.strategy() first, before building datasets or models. Notebooks train on "
                "one machine: unset TF_CONFIG there.") from None
    return _cluster_strategy


def is_multi_worker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)  # only built for clusters of 2+


def check_cluster_config(strategy, batch_size, xla):
    """Raise ValueError for parameters a cluster cannot train with."""
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(f"batch_size {batch_size} is the global batch: it must be a multiple of the "
                         f"{strategy.num_replicas_in_sync} replicas of the cluster")
    if xla and not tf.config.list_logical_devices("GPU"):
        raise ValueError("xla: true on a cluster of CPU workers: TensorFlow has no XLA collectives for CPUs "
                         "(b/194942685); set xla to false")


def is_chief(strategy):
    """True on the one worker that writes the run folder (always True off a cluster)."""
    return strategy.extended.should_checkpoint


def worker_name(strategy):
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type} {resolver.task_id}"


@contextlib.contextmanager
def write_folder(folder, strategy):
    """The folder this worker writes its run files to: ``folder`` on the chief, a temporary folder
    (removed on exit) on the other workers, which run the same callbacks and so write the same files."""
    if is_chief(strategy):
        yield folder
        return
    temporary = tempfile.mkdtemp(prefix=f"colorgan-{worker_name(strategy).replace(' ', '')}-")
    try:
        yield Path(temporary)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


@contextlib.contextmanager
def stop_when_a_worker_is_lost(strategy, state_path):
    """Turn the collective error of a worker that stopped into ``WorkerLost``, naming where to resume.

    TensorFlow's coordination service notices a lost worker within seconds (its heartbeats stop) and
    aborts the collectives on every other worker, so they exit instead of waiting forever.
    """
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.AbortedError) as error:
        if not is_multi_worker(strategy):
            raise
        where = f"after epoch {checkpoint.read_meta(state_path)['epoch']}" if Path(state_path).is_file() else \
            "from the start (no checkpoint yet)"
        reason = next((line for line in str(error).splitlines() if "unhealthy" in line), type(error).__name__)
        raise WorkerLost(f"a worker of the cluster stopped ({reason.strip()}). Start every worker again with the "
                         f"same command: the run resumes {where}.") from error


def for_workers(dataset):
    """``dataset`` (whole global batches) set up for ``fit`` under MultiWorkerMirroredStrategy.

    DATA sharding: every worker runs the whole pipeline and keeps its slice of each global batch.
    colorgan's pipeline starts from a list of file names read with ``tf.io.read_file`` (no reader
    dataset such as TFRecordDataset), so FILE sharding does not apply (AUTO would fall back to DATA
    with a warning); and with every worker drawing the same shuffle and crops from the same seed,
    a step sees exactly the photos and crops one process would. The price: each worker decodes
    every crop of the batch (decoding a crop's window costs far less than a training step).
    Batches must be whole: a short last batch would leave a replica an empty share (a NaN mean).
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def check_agreement(strategy, **numbers):
    """Raise ValueError unless every worker passes the same integer ``numbers`` (e.g. the epoch it
    resumes after); a collective, so every worker must call it, in the same order."""
    names = sorted(numbers)
    local = tf.constant([[int(numbers[name]) for name in names]], tf.int64)  # (1, k)

    def gather():
        return tf.distribute.get_replica_context().all_gather(local, axis=0)  # (replicas, k)

    gathered = strategy.experimental_local_results(strategy.run(gather))[0].numpy()
    if (gathered != gathered[0]).any():
        table = {name: gathered[:, index].tolist() for index, name in enumerate(names)}
        raise ValueError(f"the workers disagree (per replica): {table}. Every worker must get the same "
                         "parameters and see the same run folder (models_dir on a shared filesystem)")


def fit_on_workers(model):
    """Let Keras 3.15's ``fit`` train ``model`` under MultiWorkerMirroredStrategy (keras-team/keras#20585).

    Two steps of its TensorFlow trainer fail there. It averages each step's results over all replicas
    with ``strategy.reduce(MEAN, value, axis=0)``, for which a scalar loss has no axis: the results
    become vectors of one value (the logs get the same mean over replicas, a scalar again). And before
    the first step it averages a batch over all replicas only to learn its shapes, which this strategy
    cannot do for a tuple such as (L, ab): skipped, so the model is built when the step is traced, as
    on one device (where that batch is not drawn either, so both see the same batches).
    """
    train_step, test_step = model.train_step, model.test_step
    model.train_step = lambda data: tf.nest.map_structure(lambda value: tf.reshape(value, [1]), train_step(data))
    model.test_step = lambda data: tf.nest.map_structure(lambda value: tf.reshape(value, [1]), test_step(data))
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
