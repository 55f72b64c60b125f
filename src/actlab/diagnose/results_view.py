"""What every monitor (PyTorch hooks, Keras callback) offers once it has recorded."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from actlab.diagnose.findings import Finding, diagnose
from actlab.diagnose.records import LayerRecord, Recording
from actlab.diagnose.report import notebook_html, write_report
from actlab.diagnose.summary import print_summary


class RecordingResults:
    """Mixin: ``records``, ``findings``, ``summary()`` and ``report()`` of ``self.recording``."""

    recording: Recording

    @property
    def records(self) -> list[LayerRecord]:
        """Every :class:`LayerRecord`, in the order recorded."""
        return self.recording.records

    @property
    def findings(self) -> list[Finding]:
        """What is wrong (and what is notably right), from the records so far."""
        return diagnose(self.recording)

    def summary(self, console: Console | None = None) -> None:
        """Print a table of the latest sample per layer and the findings."""
        print_summary(self.recording, self.findings, console)

    def _repr_html_(self) -> str:
        """Jupyter: the findings, the latest signals per layer and the signals drawn."""
        return notebook_html(self.recording, self.findings)

    def report(self, path: str | Path, *, title: str = "actlab diagnose") -> Path:
        """Write a self-contained HTML report to ``path``; returns the path."""
        return write_report(path, self.recording, self.findings, title=title)
