"""The activation sites of a model: what each computes, its role, and what feeds it.

A *site* is one call of an activation in one forward pass: a call of a leaf module that
computes one (:mod:`actlab.backends.torch.recognize` decides by behaviour, whatever its
class), or a functional call (``F.relu``, ``torch.tanh``, ``x.sigmoid()``) inside some
module's ``forward``. Names:

* a module called once: its qualified name (``layer1.0.relu``); a module called ``n > 1``
  times per forward: ``name#0`` ... ``name#{n-1}``, one site per call;
* a functional call: ``<module>.<function>()`` (``blocks.0.relu()``; ``relu()`` in the
  root's ``forward``), with ``#k`` when that module makes several calls of it;
* a function held as a module attribute and called (``nn.TransformerEncoderLayer``'s
  ``activation``, ``F.relu`` by default): ``<module>.<attribute>``.

Roles, from the traced graph (through *passive* steps: reshapes, dropout, batch norm,
pooling, scaling by constants or parameters):

* ``output``: every path from the site ends, passively, in a model output (a final
  sigmoid; BERT's pooler tanh in ``BertModel``);
* ``gate``: the site's output multiplies another data tensor (``x * sigmoid(s)`` in
  squeeze-excite, GLU, attention weights) and the activation is bounded: it scales
  another branch. An unbounded activation multiplying another branch (SwiGLU's silu,
  GeGLU's gelu, ReGLU) is the hidden non-linearity of a gated unit: ``hidden``;
* ``hidden``: every other site: the ones a user compares.

The *feeder* of a site is the weight layer (linear, convolution) whose output reaches it
through passive steps only (``None`` after a residual sum or an attention). Units are the
last axis after a dense layer and the channel axis (1) after a convolution, taken from the
nearest weight layer upstream.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from actlab.backends.torch.intercept import CallSites, ReplacedCalls
from actlab.backends.torch.recognize import Behaviour, recognize
from actlab.backends.torch.trace import (
    ARITHMETIC,
    LINEAR_OPS,
    MULTIPLY_OPS,
    SHAPE_OPS,
    TRANSPARENT_MODULES,
    Graph,
    Node,
    Tracer,
    is_weight_layer,
    size_of,
)

Role = Literal["hidden", "gate", "output"]
ROLES: tuple[Role, ...] = ("hidden", "gate", "output")

DAMPED_SCALE = 0.01
"""A residual branch is *damped* when the scale at its end (the last batch norm's weight,
or a layer-scale parameter) has no entry above 0.01 in magnitude when traced: zero-init
residual batch norm (torchvision ``zero_init_residual``, timm ``zero_init_last``),
ConvNeXt's 1e-6 layer scale. Its layers start with (near) zero gradients by design."""


@dataclass(frozen=True)
class ActivationSite:
    """One activation call in the forward pass (see the module docstring).

    ``kind``: ``"module"`` (a leaf module's call), ``"function"`` (a functional call in the
    ``forward`` of ``module``) or ``"attribute"`` (a function held as ``module.<attribute>``);
    ``module``: the module's qualified name; ``function``: the activation function called
    (``relu`` for ``F.relu``, ``relu_`` and ``x.relu()``; kinds function and attribute);
    ``attribute``: the attribute's name (kind attribute); ``call`` / ``calls``: this call's index and how many calls that module (or that
    function in that module) makes per forward; ``where``: the source line of a
    functional call; ``behaviour``: what it computes; ``role``; ``feeder``: the weight
    layer feeding it; ``unit_axis`` and ``shape``: of its input when traced; ``damped_by``:
    the scale that damps the residual branch it lies in (``None`` if none).
    """

    name: str
    kind: Literal["module", "function", "attribute"]
    module: str
    function: str | None
    attribute: str | None
    call: int
    calls: int
    where: str
    behaviour: Behaviour
    role: Role
    feeder: str | None
    unit_axis: int
    shape: tuple[int, ...]
    damped_by: str | None = None

    @property
    def spec(self) -> str:
        """The matched catalog spec, ``"unknown elementwise"`` or ``"not elementwise"``."""
        return self.behaviour.label

    @property
    def elementwise(self) -> bool:
        return self.behaviour.is_activation

    def __str__(self) -> str:
        fed = f", fed by {self.feeder}" if self.feeder else ""
        at = f" at {self.where}" if self.kind == "function" else ""
        return f"{self.name}: {self.spec} ({self.role}{fed}){at}"


@dataclass
class Analysis:
    """Everything read off one traced forward pass: the sites (in call order), pairs of
    weight layers with nothing non-linear between them that are not deliberate
    factorisations, and the weight layers of damped residual branches."""

    sites: list[ActivationSite]
    linear_pairs: list[tuple[str, str]] = field(default_factory=list)
    damped: dict[str, str] = field(default_factory=dict)
    weight_layers: list[str] = field(default_factory=list)
    """Weight layers in the order they ran."""
    nodes: dict[str, Node] = field(default_factory=dict, repr=False)
    """The traced call of each site, by site name."""


# ---- passive steps -------------------------------------------------------------------------
def _is_passive(graph: Graph, node: Node) -> bool:
    """Whether ``node`` passes its single data input on affinely (see the module docstring)."""
    if len(node.inputs) != 1:
        return False
    if node.kind == "module":
        module = graph.module_of(node)
        return isinstance(module, TRANSPARENT_MODULES) or _linear_leaf(graph, node)
    if node.op in SHAPE_OPS or node.op in LINEAR_OPS:
        return True
    if node.op in ARITHMETIC:
        return node.op not in ("div", "true_divide") or node.first_input_first
    return False


_behaviours: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], Behaviour]] = (
    weakref.WeakKeyDictionary()
)
"""Per module (while it lives) and input shape: what it computes."""


def candidate(module: nn.Module) -> bool:
    """A leaf that may be an activation: no parameters but scalars, no buffers."""
    return all(p.numel() == 1 for p in module.parameters()) and not any(
        True for _ in module.buffers()
    )


def behaviour_of(graph: Graph, node: Node) -> Behaviour | None:
    """What a leaf module call or activation-function call computes (``None``: not a
    candidate). Cached per module and input shape."""
    if node.kind == "module":
        module = graph.module_of(node)
        if module is None or not candidate(module) or node.function is None:
            return None
        known = _behaviours.setdefault(module, {})
        if node.input_shape not in known:
            learnable = any(p.requires_grad for p in module.parameters())
            device = next(iter(module.parameters()), torch.empty(0)).device
            known[node.input_shape] = recognize(
                _evaluation(module), node.input_shape, device=device, learnable=learnable
            )
        return known[node.input_shape]
    if node.activation is None or node.function is None:
        return None
    return recognize(node.function, node.input_shape)


def _evaluation(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module.forward`` in eval mode (so that dropout-like randomness is off)."""

    def call(x: torch.Tensor) -> torch.Tensor:
        training = module.training
        module.train(False)
        try:
            return module.forward(x)
        finally:
            module.train(training)

    return call


def _linear_leaf(graph: Graph, node: Node) -> bool:
    module = graph.module_of(node)
    if module is None or not candidate(module):
        return False
    found = behaviour_of(graph, node)
    return found is not None and found.kind == "linear"


# ---- the analysis --------------------------------------------------------------------------
def analyse(graph: Graph) -> Analysis:
    """Sites, roles, feeders, linear pairs and damped branches of a traced graph."""
    nodes = graph.nodes
    found: list[tuple[Node, Behaviour]] = []
    for node in nodes:
        if node.kind == "module" or node.activation is not None:
            b = behaviour_of(graph, node)
            if b is not None and b.kind != "linear" and _is_site(graph, node, b):
                found.append((node, b))
    damped = _damped_layers(graph)
    calls = _call_counts(found)
    sites = [_site(graph, node, b, calls, damped) for node, b in found]
    by_name = {site.name: node for site, (node, _) in zip(sites, found, strict=True)}
    weights = [
        n.module for n in nodes if n.kind == "module" and is_weight_layer(graph.module_of(n))
    ]
    return Analysis(
        sites,
        _linear_pairs(graph),
        damped,
        list(dict.fromkeys(w for w in weights if w is not None)),
        by_name,
    )


def _is_site(graph: Graph, node: Node, b: Behaviour) -> bool:
    """Activation calls always are; a leaf module only when it is an elementwise
    non-linearity or one of torch's own activation modules (softmax, GLU)."""
    if node.kind == "function":
        return True
    module = graph.module_of(node)
    return b.is_activation or type(module).__module__ == "torch.nn.modules.activation"


def _key(node: Node) -> tuple[str, str]:
    return (
        (node.scope or "", node.activation or "")
        if node.kind == "function"
        else (node.module or "", "")
    )


def _call_counts(found: Iterable[tuple[Node, Behaviour]]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for node, _ in found:
        counts[_key(node)] = counts.get(_key(node), 0) + 1
    return counts


def _attribute(graph: Graph, node: Node) -> str | None:
    """The attribute of the scope module holding the called function, if any."""
    if node.kind != "function" or node.scope is None:
        return None
    owner = graph.modules.get(node.scope)
    if owner is None:
        return None
    for name, value in vars(owner).items():
        if value is node.target:
            return name
    return None


def _site(
    graph: Graph,
    node: Node,
    b: Behaviour,
    calls: dict[tuple[str, str], int],
    damped: dict[str, str],
) -> ActivationSite:
    n = calls[_key(node)]
    suffix = f"#{node.call}" if n > 1 else ""
    attribute = _attribute(graph, node)
    earlier = _swapped_name(graph, node.module) if node.kind == "module" else None
    prefix = f"{node.scope}." if node.scope else ""
    if earlier is not None:
        name, kind, module = earlier, "module", node.module
    elif node.kind == "module":
        name, kind, module = f"{node.module}{suffix}", "module", node.module
    elif attribute is not None:
        name, kind, module = f"{prefix}{attribute}{suffix}", "attribute", node.scope
    else:
        name, kind, module = f"{prefix}{node.activation}(){suffix}", "function", node.scope
    feeder = _feeder(graph, node)
    return ActivationSite(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        module=module or "",
        function=node.activation,
        attribute=attribute,
        call=node.call,
        calls=n,
        where=node.where,
        behaviour=b,
        role=_role(graph, node, b),
        feeder=feeder,
        unit_axis=unit_axis(graph, node),
        shape=node.input_shape,
        damped_by=_damping(graph, node, damped, feeder),
    )


def _swapped_name(graph: Graph, name: str | None) -> str | None:
    """The name a site had before an earlier swap put a module there: ``p#k`` for call
    ``k`` of a :class:`CallSites` at ``p``, the replaced call's name for a
    :class:`ReplacedCalls` entry."""
    parent, _, index = (name or "").rpartition(".")
    owner_name, _, attribute = parent.rpartition(".")
    owner = graph.modules.get(owner_name)
    if isinstance(owner, CallSites) and attribute == "calls":
        return f"{owner_name}#{index}"
    if isinstance(owner, ReplacedCalls) and attribute == "replacements":
        return owner.names[int(index)]
    return None


def _feeder(graph: Graph, node: Node) -> str | None:
    """The weight layer reaching ``node``'s data input through passive steps."""
    if not node.inputs:
        return None
    current = graph.nodes[node.inputs[0]]
    while True:
        if current.kind == "module" and is_weight_layer(graph.module_of(current)):
            return current.module
        if not _is_passive(graph, current):
            return None
        current = graph.nodes[current.inputs[0]]


def unit_axis(graph: Graph, node: Node) -> int:
    """The axis of units in the site's input (see the module docstring)."""
    ndim = len(node.input_shape)
    if ndim <= 1:
        return 0
    seen: set[int] = set()
    frontier = list(node.inputs)
    while frontier:
        index = frontier.pop(0)
        if index in seen:
            continue
        seen.add(index)
        current = graph.nodes[index]
        module = graph.module_of(current) if current.kind == "module" else None
        if is_weight_layer(module):
            return 1 if isinstance(module, nn.modules.conv._ConvNd) else ndim - 1
        frontier.extend(current.inputs)
    return 1 if ndim > 2 else ndim - 1


def _passive_consumers(graph: Graph, node: Node) -> tuple[list[Node], bool]:
    """The non-passive nodes consuming ``node``'s output through passive steps, and whether
    a model output is reached on the way."""
    ends: list[Node] = []
    reaches_output = False
    frontier = [node]
    seen: set[int] = set()
    while frontier:
        current = frontier.pop()
        if current.index in seen:
            continue
        seen.add(current.index)
        reaches_output |= current.is_output
        for c in current.consumers:
            consumer = graph.nodes[c]
            if _is_passive(graph, consumer):
                frontier.append(consumer)
            else:
                ends.append(consumer)
    return ends, reaches_output


def _role(graph: Graph, node: Node, b: Behaviour) -> str:
    ends, reaches_output = _passive_consumers(graph, node)
    if reaches_output and not ends:
        return "output"
    if b.bounded and any(
        e.op in MULTIPLY_OPS and e.kind == "function" and len(e.inputs) >= 2 for e in ends
    ):
        return "gate"
    return "hidden"


# ---- structure: linear pairs, damped residual branches -------------------------------------
def _linear_pairs(graph: Graph) -> list[tuple[str, str]]:
    """Pairs ``(a, b)`` of linear / conv layers where ``a`` reaches ``b`` through passive
    steps only, unless the pair is a deliberate factorisation: a bottleneck (the middle
    narrower than both ends: ``mid < min(in_a, out_b)``, as in MobileNet's linear
    bottlenecks) or a grouped / depthwise convolution (depthwise-separable)."""
    pairs = []
    for node in graph.nodes:
        second = graph.module_of(node) if node.kind == "module" else None
        if size_of(second) is None if second is not None else True:
            continue
        first_name = _feeder(graph, node)
        if first_name is None:
            continue
        first = graph.modules[first_name]
        a, b = size_of(first), size_of(second)  # type: ignore[arg-type]
        if a is None or b is None:
            continue
        (in_a, mid, groups_a), (_, out_b, groups_b) = a, b
        if groups_a > 1 or groups_b > 1 or mid < min(in_a, out_b):
            continue
        pairs.append((first_name, node.module or ""))
    return list(dict.fromkeys(pairs))


def _ancestors(graph: Graph) -> list[int]:
    """Per node, a bit mask of the nodes it depends on (itself included)."""
    masks: list[int] = []
    for node in graph.nodes:
        mask = 1 << node.index
        for i in node.inputs:
            mask |= masks[i]
        masks.append(mask)
    return masks


def _branch_scale(graph: Graph, node: Node) -> tuple[str, torch.Tensor] | None:
    """The scale at the end of a branch: walking back from ``node`` through reshapes and
    dropout, a batch norm's weight or a multiplication by a parameter."""
    current = node
    while True:
        module = graph.module_of(current) if current.kind == "module" else None
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.weight is not None:
            return f"{current.module}.weight", module.weight
        if (
            current.kind == "function"
            and current.op in ("batch_norm", "mul")
            and len(current.inputs) == 1
        ):
            params = [t for t in current.constants if id(t) in graph.tensor_names and t.numel() > 1]
            if current.op == "batch_norm":
                params = [
                    t
                    for t in current.constants
                    if id(t) in graph.tensor_names and isinstance(t, nn.Parameter)
                ][:1]
            if params:
                return graph.tensor_names[id(params[0])], params[0]
        if len(current.inputs) != 1 or not (
            current.op in SHAPE_OPS or isinstance(module, TRANSPARENT_MODULES)
        ):
            return None
        current = graph.nodes[current.inputs[0]]


def _damped_layers(graph: Graph) -> dict[str, str]:
    """Weight layers inside residual branches whose end scale is (near) zero, with the name
    of that scale."""
    ancestors = _ancestors(graph)
    damped: dict[str, str] = {}
    for node in graph.nodes:
        if node.op != "add" or len(node.inputs) != 2:
            continue
        a, b = node.inputs
        for side, other in ((a, b), (b, a)):
            scale = _branch_scale(graph, graph.nodes[side])
            if scale is None:
                continue
            name, value = scale
            if float(value.detach().abs().max()) >= DAMPED_SCALE:
                continue
            branch = ancestors[side] & ~ancestors[other]
            for index in _bits(branch):
                inner = graph.nodes[index]
                if inner.kind == "module" and is_weight_layer(graph.module_of(inner)):
                    damped.setdefault(inner.module or "", name)
    return damped


def _bits(mask: int) -> Iterable[int]:
    index = 0
    while mask:
        if mask & 1:
            yield index
        mask >>= 1
        index += 1


def _damping(graph: Graph, node: Node, damped: dict[str, str], feeder: str | None) -> str | None:
    return damped.get(feeder) if feeder is not None else None


# ---- public entry point --------------------------------------------------------------------
def trace(model: nn.Module, *args: Any, **kwargs: Any) -> tuple[Analysis, Any]:
    """Run ``model(*args, **kwargs)`` once in eval mode without gradients (so batch-norm
    statistics and dropout are left alone), traced, and analyse it. Returns the analysis
    and the model's output."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    tracer = Tracer(model)
    try:
        with torch.no_grad():
            graph, output = tracer.run(*args, **kwargs)
        return analyse(graph), output
    finally:
        for m, mode in modes.items():
            m.training = mode
        tracer.release()


def activation_sites(model: nn.Module, *args: Any, **kwargs: Any) -> list[ActivationSite]:
    """Every activation site of ``model`` on the example input ``(*args, **kwargs)``, in
    call order: what it computes, its role, its feeder (see the module docstring).

    The example runs once in eval mode without gradients; nothing in the model changes.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return trace(model, *args, **kwargs)[0].sites
