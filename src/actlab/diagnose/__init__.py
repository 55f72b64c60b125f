"""Watch the activations of a training run and say what is wrong in plain words.

* :func:`monitor` - PyTorch: ``with actlab.diagnose.monitor(model, every=10) as mon: ...``;
* :class:`actlab.diagnose.keras_monitor.Monitor` - the same for Keras 3 (a callback; imported
  from its module so that importing this package does not import Keras);
* :func:`run_demo` / :func:`demo_names` - built-in demonstrations of each finding.
"""

from actlab.diagnose.demos import DemoResult, demo_names, run_demo
from actlab.diagnose.findings import Finding, diagnose
from actlab.diagnose.monitor import DEFAULT_EVERY, Monitor, monitor
from actlab.diagnose.records import LayerInfo, LayerRecord, NonFinite, Recording, Structure

__all__ = [
    "DEFAULT_EVERY",
    "DemoResult",
    "Finding",
    "LayerInfo",
    "LayerRecord",
    "Monitor",
    "NonFinite",
    "Recording",
    "Structure",
    "demo_names",
    "diagnose",
    "monitor",
    "run_demo",
]
