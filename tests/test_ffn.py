"""The transformer-style model kind (``model="ffn"``), the text corpus, and gated
activations in ``compare`` (widths matched by parameters or by width; gated and plain
candidates in one run, each training as it would alone).

Oracles: a plain PyTorch loop over one candidate (attention written out with an explicit
causal mask and softmax, torch's own activations), ``F.cross_entropy`` over flattened
positions, and the catalog's own widths rule read as arithmetic.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actlab.analysis.stats import bits_per_character
from actlab.catalog import get
from actlab.catalog.widths import candidate_widths, gated_width
from actlab.cli import main
from actlab.data import text
from actlab.data.corpus import generate
from actlab.data.errors import DataError
from actlab.engine import StackedTrainer, TrainConfig, batch_order
from actlab.engine.metrics import candidate_loss, evaluate
from test_engine import activation_module, assert_learned_moved, assert_same_learned

NATIVE = {"relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu}


def token_splits(n=48, context=6, vocabulary=5, seed=0):
    """Random token windows; y is x shifted by one (next-token targets)."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocabulary, size=(n, context + 1))
    a, b = n // 2, 3 * n // 4
    parts = {"train": ids[:a], "val": ids[a:b], "test": ids[b:]}
    return SimpleNamespace(
        **{f"X_{k}": v[:, :-1] for k, v in parts.items()},
        **{f"y_{k}": v[:, 1:] for k, v in parts.items()},
        task="classification",
        n_outputs=vocabulary,
    )


def feature_splits(n=60, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    a, b = n // 2, 3 * n // 4
    return SimpleNamespace(
        X_train=x[:a], y_train=y[:a], X_val=x[a:b], y_val=y[a:b], X_test=x[b:], y_test=y[b:],
        task="classification", n_outputs=classes,
    )  # fmt: skip


def reference_forward(p, x, *, tokens, attention, heads, blocks, act):
    """One candidate's model, written out plainly (see actlab.engine.ffn's docstring);
    ``act`` is one function, or a list of one module per block (a learnable one's own
    parameters)."""
    acts = iter(act if isinstance(act, list) else [act] * blocks)
    p = iter(p)
    if tokens:
        emb, pos = next(p), next(p)
        h = emb[x] + pos[: x.shape[1]]
    else:
        w, b = next(p), next(p)
        h = (x @ w + b)[:, None, :]
    t, d = h.shape[1], h.shape[2]

    def norm(u):
        g, b = next(p), next(p)
        mean = u.mean(-1, keepdim=True)
        var = u.var(-1, unbiased=False, keepdim=True)
        return (u - mean) / torch.sqrt(var + 1e-5) * g + b

    for _ in range(blocks):
        if attention:
            u = norm(h)
            qkv, out = next(p), next(p)
            q, k, v = (u @ qkv).split(d, dim=-1)
            split = [z.reshape(z.shape[0], t, heads, d // heads).transpose(1, 2) for z in (q, k, v)]
            scores = split[0] @ split[1].transpose(-1, -2) / math.sqrt(d // heads)
            mask = torch.ones(t, t, dtype=torch.bool).tril()
            scores = scores.masked_fill(~mask, -math.inf)
            mixed = (scores.softmax(-1) @ split[2]).transpose(1, 2).reshape(-1, t, d)
            h = h + mixed @ out
        u = norm(h)
        w1, b1, w2, b2 = next(p), next(p), next(p), next(p)
        h = h + next(acts)(u @ w1 + b1) @ w2 + b2
    u = norm(h)
    w, b = next(p), next(p)
    out = u @ w + b
    return out if tokens else out[:, 0]


def train_alone(trainer, index, act, *, heads, blocks):
    """Candidate ``index`` trained by a plain loop from its initial weights (the trainer
    must not have run yet)."""
    stack = trainer.net
    params = [nn.Parameter(q[index].detach().clone()) for q in stack.params]
    cfg, c = trainer.config, trainer.candidates[index]
    x, y = trainer.data.train
    modules = act if isinstance(act, list) else []
    opt = torch.optim.Adam([*params, *(q for m in modules for q in m.parameters())], lr=cfg.lr)
    for epoch in range(1, cfg.epochs + 1):
        order = batch_order(c.seed, epoch, x.shape[0])
        for start in range(0, x.shape[0], cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            out = reference_forward(
                params, x[idx], tokens=stack.tokens, attention=stack.attention,
                heads=heads, blocks=blocks, act=act,
            )  # fmt: skip
            opt.zero_grad()
            F.cross_entropy(out.reshape(-1, out.shape[-1]), y[idx].reshape(-1)).backward()
            opt.step()
    return params


@pytest.mark.parametrize("sequences", [True, False])
def test_stacked_ffn_candidate_equals_a_plain_torch_loop(sequences):
    splits = token_splits() if sequences else feature_splits()
    cfg = TrainConfig(
        model="ffn", hidden=(6, 5), d_model=4, heads=2, batch_size=8, epochs=2,
        dtype=torch.float64,
    )  # fmt: skip
    trainer = StackedTrainer(splits, activations=["relu", "tanh"], seeds=[0, 1], config=cfg)
    assert trainer.net.attention is sequences
    alone = {
        i: train_alone(trainer, i, NATIVE[c.activation.name], heads=2, blocks=2)
        for i, c in enumerate(trainer.candidates)
    }
    trainer.run()
    for i, params in alone.items():
        for stacked, plain in zip(trainer.net.params, params, strict=True):
            torch.testing.assert_close(stacked[i].detach(), plain.detach(), atol=1e-10, rtol=0)


def test_learnable_ffn_candidates_equal_a_plain_torch_loop():
    """Each block's learnable activation parameters (the torch binding's module per block
    in the plain loop) train as alone, and move."""
    cfg = TrainConfig(
        model="ffn", hidden=(6, 5), d_model=4, heads=2, batch_size=8, epochs=2, lr=0.01,
        dtype=torch.float64,
    )  # fmt: skip
    trainer = StackedTrainer(
        token_splits(), activations=["prelu", "star_relu", "xielu"], seeds=[0], config=cfg
    )
    acts = {
        i: [activation_module(c.activation, torch.float64) for _ in range(2)]
        for i, c in enumerate(trainer.candidates)
    }
    alone = {i: train_alone(trainer, i, acts[i], heads=2, blocks=2) for i in acts}
    trainer.run()
    for i, params in alone.items():
        for stacked, plain in zip(trainer.net.params, params, strict=True):
            torch.testing.assert_close(stacked[i].detach(), plain.detach(), atol=1e-10, rtol=0)
        assert_same_learned(trainer.net.learned()[i], nn.Sequential(*acts[i]), atol=1e-10)
    assert_learned_moved(trainer)


def test_sequence_loss_and_accuracy_are_over_every_position():
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(3, 4, 5, 7, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 7, (4, 5), generator=gen)
    loss = candidate_loss(out, y, "classification")
    for m in range(3):
        expected = F.cross_entropy(out[m].reshape(-1, 7), y.reshape(-1))
        torch.testing.assert_close(loss[m], expected)
    index = torch.arange(4)[:, None]  # samples carry their index; chunks of 3
    eval_loss, accuracy = evaluate(lambda xb: out[:, xb[0, :, 0]], 3, index, y, "classification", 3)
    torch.testing.assert_close(eval_loss, loss)
    hits = (out.argmax(-1) == y).double().mean(dim=(1, 2))
    torch.testing.assert_close(accuracy, hits)


def test_gated_width_is_two_thirds_rounded_and_match_width_keeps_it():
    assert [gated_width(h) for h in (1, 2, 3, 4, 5, 96, 128, 256)] == [1, 1, 2, 3, 3, 64, 85, 171]
    for h in range(1, 200):
        assert abs(gated_width(h) - 2 * h / 3) <= 0.5
    relu = get("relu")
    assert candidate_widths(relu, (8, 9), "params") == (8, 9)
    with pytest.raises(ValueError, match="match='bogus'"):
        candidate_widths(relu, (8,), "bogus")


CORPUS_SHA256 = "7313d649bf4bce8e06d9a907cd8a9ad281801b912837a2eefcb317c8d68c8eba"
"""sha256 of the default corpus (200,000 characters, seed 0): BENCHMARKS.md's figures were
measured on exactly this text."""


def test_the_default_corpus_is_the_text_the_benchmarks_measured():
    import hashlib

    corpus = generate()
    assert hashlib.sha256(corpus.encode()).hexdigest() == CORPUS_SHA256
    words = corpus.split()
    assert len(set(corpus)) < 64 and 25_000 < len(words) < 45_000
    assert corpus.count("\n") > 500  # paragraphs


def test_corpus_is_fixed_and_its_windows_predict_the_next_character():
    corpus = generate(5_000)
    assert len(corpus) == 5_000 and corpus == generate(5_000, 0)
    assert corpus != generate(5_000, 1)
    data, splits = text.load_text("text(chars=5000, context=16)")
    assert data.name == "text(chars=5000, context=16)"
    chars = np.array(splits.class_labels)
    for x, y in ((splits.X_train, splits.y_train), (splits.X_test, splits.y_test)):
        assert x.dtype == np.int64 and x.shape == y.shape and x.shape[1] == 16
        np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    # in text order: train, then validation, then test, without gaps or overlaps
    whole = np.concatenate([splits.X_train, splits.X_val, splits.X_test]).reshape(-1)
    assert "".join(chars[whole]) == corpus[: whole.size]
    assert splits.summary()["n_test"] == splits.y_test.size
    assert math.isclose(bits_per_character(math.log(2)), 1.0)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("text(context=1)", "context=1 is not allowed"),
        ("text(chars=10000000)", "chars=10000000 is not allowed"),
        ("text(width=3)", "no parameter 'width'"),
        ("text(chars=1000, context=1000)", "too few"),
    ],
)
def test_bad_text_specs_say_what_is_wrong(spec, problem):
    with pytest.raises(DataError, match=problem):
        text.load_text(spec)


def test_cli_ffn_on_the_corpus_records_bits_per_character_and_shapes(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "compare", "--data", "text(chars=3000, context=16)", "--model", "ffn",
            "--activations", "relu,tanh", "--seeds", "2", "--epochs", "1", "--hidden", "8",
            "--d-model", "8", "--heads", "2", "--out", str(out),
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    stdout = captured.out
    assert code == 0
    assert "ranked by validation bpc (lower is better)" in stdout
    assert "the ranking above is by next-character accuracy" not in stdout  # no footnote
    results = json.loads((out / "results.json").read_text())
    # ranked by bits per character, lowest first, with accuracy beside it
    (analysis,) = results["analysis"]["groups"].values()
    ranking = analysis["ranking"]
    assert ranking["metric"] == "bpc"
    val = [r["val"]["mean"] for r in ranking["rows"]]
    assert val == sorted(val)
    # the progress line's best is the lowest validation bpc too
    assert f"best val bpc {val[0]:.4f} ({ranking['rows'][0]['activation']})" in captured.err
    for row in ranking["rows"]:
        tests = [
            c["test_bpc"] for c in results["candidates"] if c["activation"] == row["activation"]
        ]
        assert math.isclose(row["test"]["mean"], sum(tests) / len(tests))
        accuracy = [
            c["test_metric"] for c in results["candidates"] if c["activation"] == row["activation"]
        ]
        assert math.isclose(row["test_accuracy"]["mean"], sum(accuracy) / len(accuracy))
        first = [c for c in results["candidates"] if c["activation"] == row["activation"]]
        assert math.isclose(
            row["val_by_seed"][str(first[0]["seed"])],
            first[0]["history"]["val_loss"][-1] / math.log(2),
        )
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "ffn" and config["match"] == "params" and config["d_model"] == 8
    v = len(results["data"]["splits"]["class_labels"])
    # embeddings, one block (2 layer norms, qkv, out, W1, b1, W2, b2), final norm, head
    block = 4 * 8 + 8 * 24 + 8 * 8 + 8 * 8 + 8 + 8 * 8 + 8
    for c in results["candidates"]:
        assert math.isclose(c["test_bpc"], c["test_loss"] / math.log(2))
        assert c["widths"] == [8]
        assert c["parameters"] == (v + 16) * 8 + block + 2 * 8 + 8 * v + v


def test_text_needs_the_ffn_model(capsys):
    assert main(["compare", "--data", "text", "--epochs", "1"]) == 2
    assert "needs --model ffn" in capsys.readouterr().err


def swiglu_native(z):
    a, b = z.chunk(2, dim=-1)
    return a * F.silu(b)


@pytest.mark.parametrize("sequences", [True, False])
def test_a_gated_ffn_candidate_equals_a_plain_torch_loop(sequences):
    splits = token_splits() if sequences else feature_splits()
    cfg = TrainConfig(
        model="ffn", hidden=(6,), d_model=4, heads=2, batch_size=8, epochs=2,
        dtype=torch.float64,
    )  # fmt: skip
    trainer = StackedTrainer(splits, activations=["swiglu"], seeds=[0, 1], config=cfg)
    assert trainer.net.hidden_widths == (4,)  # 2/3 of 6
    assert trainer.net.site_weights()[0].shape == (2, 4, 8)  # value and gate halves
    alone = {i: train_alone(trainer, i, swiglu_native, heads=2, blocks=1) for i in range(2)}
    trainer.run()
    for i, params in alone.items():
        for stacked, plain in zip(trainer.net.params, params, strict=True):
            torch.testing.assert_close(stacked[i].detach(), plain.detach(), atol=1e-10, rtol=0)


def _without_time(result):
    out = result.to_dict()
    out["history"].pop("epoch_time")
    return out


@pytest.mark.parametrize(("model", "sequences"), [("ffn", True), ("mlp", False)])
def test_gated_and_plain_candidates_in_one_run_each_train_as_alone(model, sequences):
    """Same paired seeds and batches, different weight shapes: every candidate of the mixed
    run (one stack per run of equal shapes, stepping in lockstep) gives exactly what a run
    of its activation alone gives."""
    splits = token_splits() if sequences else feature_splits()
    cfg = TrainConfig(
        model=model, hidden=(6, 6), d_model=4, heads=2, batch_size=8, epochs=2,
        dtype=torch.float64,
    )  # fmt: skip
    mixed = StackedTrainer(splits, activations=["relu", "swiglu", "geglu", "tanh"], seeds=[0, 1],
                           config=cfg)  # fmt: skip
    assert [len(s) for s in mixed.stacks] == [2, 4, 2]
    together = mixed.run()
    for act in ("relu", "swiglu", "geglu", "tanh"):
        alone = StackedTrainer(splits, activations=[act], seeds=[0, 1], config=cfg).run()
        ours = [r for r in together if r.activation == act]
        assert [_without_time(r) for r in ours] == [_without_time(r) for r in alone]
    widths = {r.activation: r.widths for r in together}
    assert widths == {"relu": [6, 6], "swiglu": [4, 4], "geglu": [4, 4], "tanh": [6, 6]}


def test_matched_parameters_by_default_and_matched_width_on_request():
    splits = feature_splits()
    runs = {}
    for match in ("params", "width"):
        cfg = TrainConfig(model="ffn", hidden=(12,), d_model=6, heads=2, epochs=1, match=match)
        trainer = StackedTrainer(splits, activations=["gelu", "swiglu"], seeds=[0], config=cfg)
        runs[match] = {r.activation: r for r in trainer.run()}
    plain, gated = runs["params"]["gelu"], runs["params"]["swiglu"]
    assert (plain.widths, gated.widths) == ([12], [8])
    # the FFN's weights match exactly when 3 divides 2h: 6*12 + 12*6 == 6*16 + 8*6;
    # only W_1's bias differs (12 plain, 16 gated)
    assert gated.parameters - plain.parameters == 16 - 12
    wide = runs["width"]["swiglu"]
    assert wide.widths == [12]
    assert wide.parameters - plain.parameters == 6 * 12 + 12  # a second projection + bias
    assert runs["width"]["gelu"].to_dict()["test_loss"] == plain.to_dict()["test_loss"]


def test_gated_activations_need_a_model_that_can_widen_its_layers(capsys):
    code = main(["compare", "--model", "cnn", "--activations", "relu,swiglu", "--epochs", "1"])
    assert code == 2
    assert "swiglu is gated" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "vocabulary", "activation"),
    [("ffn", 7, "relu"), ("ffn", None, "relu"), ("ffn", 7, "swiglu"), ("mlp", None, "geglu")],
)
def test_the_memory_estimate_counts_the_engines_parameters(model, vocabulary, activation):
    from actlab.engine.candidates import make_candidates
    from actlab.engine.ffn import StackedFFN
    from actlab.engine.memory import estimate_training
    from actlab.engine.stacked import StackedMLP

    candidates = make_candidates([activation], [0, 1])
    n_features, layers = 5, (6, 3)
    if model == "ffn":
        net = StackedFFN(candidates, n_inputs=n_features, n_outputs=4, widths=layers, d_model=4,
                         heads=2, vocabulary=vocabulary)  # fmt: skip
    else:
        net = StackedMLP(candidates, n_features, layers, 4)
    estimate = estimate_training(
        model=model, layers=layers, n_candidates=2, n_features=n_features, n_outputs=4,
        n_samples=10, batch_size=4, optimizer="sgd", d_model=4, heads=2, vocabulary=vocabulary,
        width_factor=get(activation).width_factor,
    )  # fmt: skip
    # plain SGD: weights, gradients and two snapshots = 4 copies of 4-byte values
    assert estimate.parameters == 4 * 4 * sum(p.numel() for p in net.params)


def test_gated_activations_get_a_measured_cost():
    from actlab.comparison.cost import activation_costs

    costs = activation_costs(["swiglu", "geglu"], numel=1024, budget=0.0, min_rounds=1)
    assert all(c["relative_to_relu"] > 0 for c in costs.values())


def test_an_ffn_run_on_the_corpus_extends_its_seeds_as_if_it_had_them_all(tmp_path):
    """The run directory keeps what the ffn model and the corpus need (d_model, heads,
    match, the text spec): adding a seed later gives what a run with every seed gives."""
    import actlab

    options = dict(model="ffn", hidden=(8,), d_model=8, heads=2, epochs=1, match="width")
    data = "text(chars=2000, context=16)"
    actlab.compare(data, ["relu", "swiglu"], seeds=1, out=tmp_path / "run", **options)
    extended = actlab.extend_seeds(tmp_path / "run", [1])
    whole = actlab.compare(data, ["relu", "swiglu"], seeds=2, **options)

    def table(result):
        return sorted((c.activation, c.seed, c.test_bpc, c.widths)
                      for c in result.candidates)  # fmt: skip

    assert table(extended) == table(whole)
    assert {c.widths[0] for c in whole.candidates} == {8}  # match="width" kept


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"match": "flops"}, "match='flops' must be one of ('params', 'width')"),
        ({"d_model": 0}, "d_model=0 must be >= 1"),
        ({"heads": 0}, "heads=0 must be >= 1"),
        ({"d_model": 30, "heads": 4}, "d_model=30 must be a multiple of heads=4"),
    ],
)
def test_the_run_and_the_engine_refuse_a_bad_shape_alike(settings, message):
    """One rule (actlab.catalog.widths.check_shape) for the run's config and the engine's."""
    from actlab.comparison import CompareConfig

    for config in (
        lambda: CompareConfig(model="ffn", **settings),
        lambda: TrainConfig(model="ffn", **settings),
    ):
        with pytest.raises(ValueError) as err:
            config()
        assert str(err.value) == message
