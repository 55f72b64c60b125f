"""Where training runs: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``."""

from __future__ import annotations

import torch

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps"


def resolve_device(spec: str) -> str:
    """The device ``spec`` names, checked to exist on this machine. ``"auto"`` is the first
    CUDA device where there is one, else Apple's ``mps`` where there is one, else the
    CPU. Raises ``ValueError`` (one line) for a malformed name or a device this machine
    does not have."""
    text = str(spec).strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if _mps() else "cpu"
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise ValueError(f"device={spec!r} is not a device name ({DEVICE_HELP})") from None
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if device.index is None else device.index
        if index >= count:
            have = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise ValueError(f"device={spec!r} does not exist: this machine has {have}")
        return f"cuda:{index}"
    if device.type == "mps":
        if not _mps():
            raise ValueError(f"device={spec!r} does not exist: this machine has no MPS device")
        return "mps"
    raise ValueError(f"device={spec!r} is not supported ({DEVICE_HELP})")


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
