"""Read a PyTorch checkpoint's tensors as NumPy arrays without running any code from the file.

A ``.pth`` is a pickle, and ``pickle.load`` calls whatever function the file names (``os.system``
included). This reader's unpickler resolves only the names a plain state dict needs (an OrderedDict,
the tensor-rebuild function, the typed storage classes) to harmless stand-ins of its own; any other
name raises ``UnsafeCheckpoint`` before anything runs. It reads both layouts ``torch.save`` writes:
the legacy one (a sequence of pickles, then the raw storages) and the zip one (``data.pkl`` plus one
file per storage). torch itself is not needed.
"""

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001

# torch's typed storages -> the NumPy dtype of their elements.
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": None,  # no NumPy dtype; refused with a message below
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class UnsafeCheckpoint(ValueError):
    """The checkpoint names code beyond a plain state dict of tensors."""


class _Storage:
    """A typed storage whose bytes are filled in once the file has been read past the pickle."""

    def __init__(self, dtype, numel):
        self.dtype, self.numel, self.array = dtype, numel, None


class _Tensor:
    """``torch._utils._rebuild_tensor_v2``'s arguments, turned into an array once storages are read."""

    def __init__(self, storage, offset, size, stride, *_):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def numpy(self):
        flat = self.storage.array
        itemsize = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], self.size,
                                               tuple(s * itemsize for s in self.stride), writeable=False)
        return np.array(view)  # a contiguous copy


def _storage_class(name):
    def storage_type(*_):  # never called: the class only names the dtype in a persistent id
        raise UnsafeCheckpoint(f"storage {name} called directly")
    storage_type.storage_name = name
    return storage_type


class _StateDictUnpickler(pickle.Unpickler):
    """Allows exactly the globals a state dict of tensors needs; anything else is refused unrun."""

    def __init__(self, file, source, storages, read_storage=None):
        super().__init__(file)
        self.source, self.storages, self.read_storage = source, storages, read_storage

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Tensor
        if module == "torch" and name in STORAGE_DTYPES:
            return _storage_class(name)
        raise UnsafeCheckpoint(f"{self.source}: refuses to load '{module}.{name}': a weights file names only "
                               "tensors and dictionaries, and this one names code that pickle would run")

    def persistent_load(self, saved_id):
        if not (isinstance(saved_id, tuple) and saved_id and saved_id[0] == "storage"):
            raise UnsafeCheckpoint(f"{self.source}: unexpected persistent id {saved_id!r}")
        storage_type, key, _location, numel = saved_id[1:5]
        name = getattr(storage_type, "storage_name", None)
        dtype = STORAGE_DTYPES.get(name)
        if dtype is None:
            raise UnsafeCheckpoint(f"{self.source}: unsupported storage type {name or storage_type!r}")
        if key not in self.storages:
            self.storages[key] = _Storage(np.dtype(dtype), numel)
            if self.read_storage is not None:  # zip layout: the bytes are a file of their own
                self.storages[key].array = self.read_storage(key, np.dtype(dtype))
        return self.storages[key]


def _materialize(obj):
    if isinstance(obj, _Tensor):
        return obj.numpy()
    if isinstance(obj, dict):
        return OrderedDict((key, _materialize(value)) for key, value in obj.items())
    raise UnsafeCheckpoint(f"expected a state dict of tensors, found {type(obj).__name__}")


def _restricted_load(file, source):
    """One plain pickle (magic number, protocol, sys info, storage keys) with no globals at all allowed."""
    return _StateDictUnpickler(file, source, {}).load()


def _read_legacy(file, source):
    if _restricted_load(file, source) != LEGACY_MAGIC:
        raise ValueError(f"{source}: not a PyTorch checkpoint (bad magic number)")
    if _restricted_load(file, source) != LEGACY_PROTOCOL:
        raise ValueError(f"{source}: unsupported PyTorch checkpoint protocol")
    sys_info = _restricted_load(file, source)
    if not sys_info.get("little_endian", True):
        raise ValueError(f"{source}: big-endian checkpoints are not supported")
    storages = {}
    state = _StateDictUnpickler(file, source, storages).load()
    keys = _restricted_load(file, source)
    for key in keys:  # each storage: int64 element count, then its raw bytes
        storage = storages[key]
        count = int(np.frombuffer(file.read(8), "<i8")[0])
        data = file.read(count * storage.dtype.itemsize)
        if len(data) != count * storage.dtype.itemsize:
            raise ValueError(f"{source}: truncated (storage {key} is cut short)")
        storage.array = np.frombuffer(data, storage.dtype.newbyteorder("<"))
    return state


def _read_zip(path, source):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickle_name = next((name for name in names if name.endswith("/data.pkl") or name == "data.pkl"), None)
        if pickle_name is None:
            raise ValueError(f"{source}: a zip without data.pkl is not a PyTorch checkpoint")
        prefix = pickle_name[: -len("data.pkl")]

        def read_storage(key, dtype):
            return np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype.newbyteorder("<"))

        with archive.open(pickle_name) as file:
            return _StateDictUnpickler(io.BytesIO(file.read()), source, {}, read_storage).load()


def load_state_dict(path):
    """The checkpoint at ``path`` as {name: float32/int array}; raises UnsafeCheckpoint for any other pickle."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path, path)
        else:
            with open(path, "rb") as file:
                state = _read_legacy(file, path)
    except (pickle.UnpicklingError, EOFError, KeyError, IndexError, TypeError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({type(error).__name__}: {error})") from error
    return _materialize(state)
