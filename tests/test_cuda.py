"""The CUDA path: the training step replayed as a CUDA graph trains as the eager step does.

The GPU tests run only where torch sees a CUDA GPU (CI has none; they ran on an H100 through the
device tool, see benchmarks/RESULTS.md); which configs may be captured is checked everywhere.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from torch import nn

import reportgen.train
from reportgen.config import BuildConfig
from reportgen.cuda_graph import GraphedStep, can_capture
from reportgen.data import LoadedDataset, load_dataset
from reportgen.device import resolve_device
from reportgen.model import StudyCNN
from reportgen.train import (
    StepRecipe,
    make_optimizer,
    make_step,
    prepare_model,
    seed_everything,
    to_device_tensors,
    train_model,
    train_one_epoch,
    warm_up,
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
CUDA = torch.device("cuda")


def quick(**overrides: object) -> BuildConfig:
    return dataclasses.replace(
        BuildConfig(dataset="retinamnist", epochs=2, device="cuda"), **overrides
    )


def test_only_constant_rate_sgd_without_augmentation_is_captured() -> None:
    assert can_capture(CUDA, quick())
    assert can_capture(CUDA, quick(momentum=0.9, grad_clip=1.0, sampler="balanced"))
    assert can_capture(CUDA, quick(precision="bf16", loss_weighting="inverse_frequency"))
    assert not can_capture(torch.device("cpu"), quick())
    assert not can_capture(CUDA, quick(schedule="cosine"))  # the rate is baked into the graph
    assert not can_capture(CUDA, quick(optimizer="adamw"))
    assert not can_capture(CUDA, quick(augment=True))  # CPU random numbers, data-dependent masks
    assert not can_capture(CUDA, quick(model="wide_cnn"))  # dropout under a graph: untested


@pytest.fixture(scope="module")
def retina(synthetic_retina_root: Path) -> LoadedDataset:
    return load_dataset("retinamnist", synthetic_retina_root, allow_unofficial=True)


def _weights_after_epochs(
    dataset: LoadedDataset, config: BuildConfig, cuda_graph: bool, epochs: int
) -> tuple[dict[str, torch.Tensor], list[float], object]:
    generator = seed_everything(config.seed)
    model = prepare_model(StudyCNN(3, len(dataset.class_names)), CUDA)
    optimizer = make_optimizer(model, config)
    images, labels = to_device_tensors(dataset.train, CUDA)
    recipe = StepRecipe(
        config.batch_size,
        config.sampler,
        False,
        config.grad_clip,
        nn.CrossEntropyLoss(),
        config.precision,
    )
    step = make_step(model, optimizer, images, labels, recipe, generator, cuda_graph)
    losses = [
        train_one_epoch(model, step, None, labels, recipe, generator)[0] for _ in range(epochs)
    ]
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, losses, step


@needs_cuda
@pytest.mark.parametrize(
    "overrides",
    [{}, {"momentum": 0.9, "grad_clip": 1.0, "sampler": "balanced"}, {"precision": "bf16"}],
    ids=["study", "momentum-clipped-balanced", "bf16"],
)
def test_graph_replay_trains_like_eager_steps(
    retina: LoadedDataset, overrides: dict[str, object]
) -> None:
    """1,080 images in batches of 100: warm-up, capture, replays and an eager last batch of 80."""
    config = quick(**overrides)
    eager, eager_losses, _ = _weights_after_epochs(retina, config, False, 3)
    graphed, graphed_losses, step = _weights_after_epochs(retina, config, True, 3)
    assert isinstance(step, GraphedStep) and step.captured  # 3 x 10 full batches: most replayed
    for name in eager:
        torch.testing.assert_close(graphed[name], eager[name], rtol=1e-4, atol=1e-5, msg=name)
    assert graphed_losses == pytest.approx(eager_losses, rel=1e-4)


@needs_cuda
def test_a_step_that_cannot_be_captured_warns_and_trains_on_eagerly(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host sync inside the step is allowed eagerly but breaks a capture, as a kernel that some
    torch version cannot capture would: the run warns and ends with the eager steps' weights."""
    real_training_step = reportgen.train.training_step

    def syncing_step(*args: object) -> object:
        outputs = real_training_step(*args)
        outputs[0].item()
        return outputs

    monkeypatch.setattr(reportgen.train, "training_step", syncing_step)
    with pytest.warns(RuntimeWarning, match="Could not capture the training step"):
        fallen_back, fallen_back_losses, step = _weights_after_epochs(retina, quick(), True, 3)
    assert isinstance(step, GraphedStep) and not step.captured and step.capture_error
    eager, eager_losses, _ = _weights_after_epochs(retina, quick(), False, 3)
    for name in eager:
        torch.testing.assert_close(fallen_back[name], eager[name], rtol=1e-4, atol=1e-5, msg=name)
    assert fallen_back_losses == pytest.approx(eager_losses, rel=1e-4)
    assert torch.cuda.current_stream() == torch.cuda.default_stream()  # capture stream not left on


@needs_cuda
def test_train_model_captures_where_it_can_and_not_elsewhere(
    retina: LoadedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[GraphedStep] = []
    real_make_step = reportgen.train.make_step

    def recording_make_step(*args: object, **kwargs: object) -> object:
        step = real_make_step(*args, **kwargs)
        if isinstance(step, GraphedStep):
            made.append(step)
        return step

    monkeypatch.setattr(reportgen.train, "make_step", recording_make_step)
    trained = train_model(retina, quick(select_epoch="val_auc"))
    assert len(made) == 1 and made[0].captured
    assert trained.device.startswith("cuda") and len(trained.history) == 2
    assert all(0.0 <= stats.val_auc <= 1.0 for stats in trained.history)  # False for NaN
    train_model(retina, quick(schedule="cosine", momentum=0.9))
    train_model(retina, quick(augment=True))
    assert len(made) == 1  # neither of those was captured


@needs_cuda
def test_a_seed_trains_the_same_wide_cnn_twice(retina: LoadedDataset) -> None:
    """Without deterministic cuDNN, the same seed gave other wide-CNN weights on every run."""
    config = quick(model="wide_cnn", width=8, optimizer="adamw", lr=0.003, schedule="onecycle")
    first, second = train_model(retina, config), train_model(retina, config)
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(tensor, second.model.state_dict()[name]), name
    assert [s.val_auc for s in first.history] == [s.val_auc for s in second.history]


@needs_cuda
@pytest.mark.parametrize(
    "overrides",
    [{}, {"model": "wide_cnn", "width": 8, "optimizer": "adamw", "precision": "bf16"}],
    ids=["study", "wide-adamw-bf16"],
)
def test_warming_up_a_gpu_leaves_training_as_it_was(
    retina: LoadedDataset, overrides: dict[str, object]
) -> None:
    config = quick(**overrides)
    before = train_model(retina, config)
    warm_up(CUDA, config, (28, 28, 3), 5)
    after = train_model(retina, config)
    for name, tensor in before.model.state_dict().items():
        assert torch.equal(tensor, after.model.state_dict()[name]), name


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_auto_device_picks_cuda_then_mps_then_cpu(
    monkeypatch: pytest.MonkeyPatch, cuda: bool, mps: bool, expected: str
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto").type == expected
