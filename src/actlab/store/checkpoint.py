"""Checkpoint files: a nested state of plain values and tensors, stored as data only.

A state is any nesting of ``dict`` / ``list`` / ``tuple`` / ``str`` / ``int`` / ``float`` /
``bool`` / ``None`` and ``torch.Tensor``; this module does not care what it means. One file
(``.safetensors``) holds it:

* every tensor as a safetensors entry ``t0, t1, ...`` (dense, CPU, any safetensors dtype);
* the structure as one strict-JSON document, UTF-8 in the ``uint8`` entry ``state.json``::

      {"schema": "actlab.checkpoint/1", "state": <value>}

  where a value is a JSON ``null`` / boolean / number / string / array (a ``list``) or
  object (a ``dict`` whose keys are strings not starting with ``$``), or one of the tagged
  objects ``{"$tensor": "t3"}``, ``{"$tuple": [...]}``, ``{"$float": "nan" | "inf" |
  "-inf"}``, ``{"$dict": [[key, value], ...]}`` (any other ``dict``; keys are values
  that are hashable once decoded).

Both parts are read by parsers of data (safetensors' header and tensor layout checks, and
:func:`json.loads`), so loading never runs code: not the old ``torch.save`` pickles, not a
hostile file. A file that is not exactly this format (a pickle, truncated or corrupt bytes,
a directory, a newer schema) raises :class:`CheckpointError` with one line naming it.
Writes are durable (:mod:`actlab.store.atomic`). A tensor that appears twice in a state is
stored twice and loads as two tensors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from actlab.store.atomic import replace_atomically
from actlab.store.errors import CheckpointError

CHECKPOINT_SCHEMA = "actlab.checkpoint/1"
STATE_ENTRY = "state.json"
SUFFIX = ".safetensors"
_TAGS = ("$tensor", "$tuple", "$float", "$dict")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_PICKLE_MAGIC = (b"\x80", b"PK\x03\x04")  # a pickle protocol 2+ header; torch.save's zip


class _Unstorable(TypeError):
    """A value that cannot be stored. Where it sits in the state is added as the error
    leaves each container, so encoding pays for no location until something fails."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.where = ""

    def inside(self, step: str) -> _Unstorable:
        self.where = step + self.where
        return self

    def __str__(self) -> str:
        return f"checkpoint state{self.where}: {self.what}"


def _tagged_float(x: float) -> Any:
    """A float (or a subclass, which JSON writes as a float) as JSON: itself, or tagged
    when it is not finite."""
    if math.isfinite(x):
        return x
    return {"$float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


class _Encoder:
    """Turns a state into a JSON-able value, collecting its tensors. A state's bulk is the
    trainer's history (tens of thousands of floats), so the common case is one type check
    per value."""

    def __init__(self) -> None:
        import torch

        self.tensors: dict[str, Any] = {}
        self._storages: set[int] = set()
        self._torch = torch

    def value(self, obj: Any) -> Any:
        if type(obj) is float:
            return obj if math.isfinite(obj) else _tagged_float(obj)
        if obj is None or isinstance(obj, bool | int | str):
            return obj
        if isinstance(obj, float):
            return _tagged_float(obj)
        if isinstance(obj, self._torch.Tensor):
            return {"$tensor": self._tensor(obj)}
        if isinstance(obj, list):
            return self._items(obj)
        if isinstance(obj, tuple):
            return {"$tuple": self._items(obj)}
        if isinstance(obj, dict):
            return self._dict(obj)
        raise _Unstorable(
            f"a {type(obj).__module__}.{type(obj).__qualname__} cannot be stored (only "
            "dict, list, tuple, str, int, float, bool, None and torch.Tensor)"
        )

    def _items(self, items: list | tuple) -> list:
        out = []
        try:
            for v in items:
                out.append(self.value(v))
        except _Unstorable as exc:  # items before the failing one are in out
            raise exc.inside(f"[{len(out)}]") from None
        return out

    def _dict(self, obj: dict) -> Any:
        plain = all(isinstance(k, str) and not k.startswith("$") for k in obj)
        out: Any = {} if plain else []
        key, in_key = None, False
        try:
            for key, v in obj.items():
                if plain:
                    out[key] = self.value(v)
                else:
                    in_key = True
                    k = self.value(key)
                    in_key = False
                    out.append([k, self.value(v)])
        except _Unstorable as exc:
            raise exc.inside(f" key {key!r}" if in_key else f"[{key!r}]") from None
        return out if plain else {"$dict": out}

    def _tensor(self, tensor: Any) -> str:
        if tensor.layout != self._torch.strided:
            raise _Unstorable(f"a {tensor.layout} tensor cannot be stored")
        t = tensor.detach().to("cpu")
        if not t.is_contiguous():
            t = t.contiguous()
        storage = t.untyped_storage().data_ptr()
        if storage and storage in self._storages:  # safetensors refuses shared memory
            t = t.clone()
            storage = t.untyped_storage().data_ptr()
        self._storages.add(storage)
        name = f"t{len(self.tensors)}"
        self.tensors[name] = t
        return name


class _Decoder:
    """Turns the JSON value back into the state, checking every tag."""

    def __init__(self, path: Path, tensors: dict[str, Any]) -> None:
        self.path = path
        self.tensors = tensors

    def bad(self, problem: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: not a valid actlab checkpoint ({problem})")

    def value(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, list):
            return [self.value(v) for v in obj]
        if not isinstance(obj, dict):  # pragma: no cover - json.loads yields nothing else
            raise self.bad(f"unexpected {type(obj).__name__}")
        tags = [k for k in obj if k.startswith("$")]
        if not tags:
            return {k: self.value(v) for k, v in obj.items()}
        if len(obj) != 1 or tags[0] not in _TAGS:
            raise self.bad(f"unknown tag {tags[0][:40]!r}")
        tag, body = tags[0], obj[tags[0]]
        if tag == "$tensor":
            if not isinstance(body, str) or body not in self.tensors:
                raise self.bad(f"missing tensor {str(body)[:40]!r}")
            return self.tensors[body]
        if tag == "$float":
            if body not in _NONFINITE:
                raise self.bad(f"bad $float {str(body)[:40]!r}")
            return _NONFINITE[body]
        if not isinstance(body, list):
            raise self.bad(f"{tag} holds a {type(body).__name__}, not a list")
        if tag == "$tuple":
            return tuple(self.value(v) for v in body)
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise self.bad("a $dict item is not a [key, value] pair")
            key = self.value(pair[0])
            try:
                out[key] = self.value(pair[1])
            except TypeError:
                raise self.bad(f"unhashable dict key {type(key).__name__}") from None
        return out


def write_checkpoint(path: Path, state: Any) -> None:
    """Store ``state`` in ``path`` durably and atomically (see the module docstring).

    Raises ``TypeError`` naming the place of a value that cannot be stored."""
    import torch
    from safetensors.torch import save_file

    encoder = _Encoder()
    document = {"schema": CHECKPOINT_SCHEMA, "state": encoder.value(state)}
    text = json.dumps(document, allow_nan=False, separators=(",", ":")).encode()
    tensors = {**encoder.tensors, STATE_ENTRY: torch.frombuffer(bytearray(text), dtype=torch.uint8)}
    replace_atomically(
        path, lambda tmp: save_file(tensors, tmp, metadata={"format": CHECKPOINT_SCHEMA})
    )


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({exc.strerror})") from None


def _refuse_pickle(path: Path, head: bytes) -> None:
    if head.startswith(_PICKLE_MAGIC):
        raise CheckpointError(
            f"{path}: a pickle (torch.save) file, which is never loaded because unpickling "
            "can run code; delete it to restart that group from its first epoch"
        )


def read_checkpoint(path: Path) -> Any:
    """The state stored in ``path`` by :func:`write_checkpoint`; anything else raises
    :class:`CheckpointError` (one line, naming ``path``) without running code."""
    import torch
    from safetensors.torch import load

    data = _read_bytes(path)
    if not data:
        raise CheckpointError(f"{path}: an empty checkpoint file (0 bytes)")
    try:
        tensors = load(data)
    except BaseException as exc:  # safetensors raises its own errors, and panics (pyo3)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        _refuse_pickle(path, data[:4])
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a valid actlab checkpoint (corrupt or truncated: {reason})"
        ) from None
    raw = tensors.pop(STATE_ENTRY, None)
    decoder = _Decoder(path, tensors)
    if raw is None or raw.dtype != torch.uint8 or raw.dim() != 1:
        raise decoder.bad(f"no {STATE_ENTRY} entry")
    try:
        document = json.loads(
            raw.numpy().tobytes().decode("utf-8"), parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise decoder.bad(f"{STATE_ENTRY}: {str(exc)[:200]}") from None
    if not isinstance(document, dict) or "state" not in document:
        raise decoder.bad(f"{STATE_ENTRY} has no state")
    schema = document.get("schema")
    if schema != CHECKPOINT_SCHEMA:
        raise CheckpointError(
            f"{path}: checkpoint schema {str(schema)[:60]!r} is not {CHECKPOINT_SCHEMA!r} "
            "(written by another actlab version); delete it to restart that group"
        )
    try:
        return decoder.value(document["state"])
    except RecursionError:
        raise decoder.bad("nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not strict JSON")
