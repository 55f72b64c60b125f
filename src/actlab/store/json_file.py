"""Reading the JSON files of run and sweep directories as data that may be damaged: every
problem is a one-line :class:`RunDirError` naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from actlab.store.errors import RunDirError

_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "true/false"}


def describe(value: Any) -> str:
    """What a JSON value is, for a message: ``an array``, ``a number``, ``null``."""
    if value is None:
        return "null"
    return _KINDS.get(type(value), "a number" if isinstance(value, int | float) else "a value")


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object stored in ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise RunDirError(f"{path}: is a directory, not a JSON file") from None
    except FileNotFoundError:
        raise RunDirError(f"{path}: is missing") from None
    except UnicodeDecodeError as exc:
        raise RunDirError(
            f"{path}: not UTF-8 text (byte {exc.start}); the file is damaged"
        ) from None
    except OSError as exc:
        raise RunDirError(f"{path}: cannot read it ({exc.strerror})") from None
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "the file is damaged"
        ) from None
    except (RecursionError, ValueError) as exc:
        raise RunDirError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise RunDirError(f"{path}: holds {describe(payload)}, not a JSON object")
    return payload


def require(path: Path, payload: dict[str, Any], key: str, kind: type, optional: bool = False):
    """``payload[key]`` when it is a ``kind`` (None allowed when ``optional``)."""
    if key not in payload:
        if optional:
            return None
        raise RunDirError(f"{path}: has no {key!r}")
    value = payload[key]
    if (value is None and optional) or (isinstance(value, kind) and not isinstance(value, bool)):
        return value
    raise RunDirError(
        f"{path}: {key!r} holds {describe(value)}, not {_KINDS.get(kind, kind.__name__)}"
    )
