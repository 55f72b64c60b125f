"""Run a command that must meet file permissions, even when the tests run as root (CI
containers do): root ignores a read-only directory unless its capabilities to override
permissions are dropped, which ``setpriv`` does for the command it runs."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

DROPPED = "--bounding-set=-dac_override,-dac_read_search,-fowner"


def run_unprivileged(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(argv)`` as a process that read-only files and directories stop."""
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be enforced")
        argv = [setpriv, DROPPED, *argv]
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
