"""Training throughput: reportgen's trainer against a standard medmnist + DataLoader pipeline.

Both train the study's CNN with the same optimiser, batch size and data, in one process on one
machine, so their ratio is meaningful even on a busy machine. Then, given a results.json, prints
the stage breakdown of that `reportgen build`.

    python benchmarks/bench_train.py --data-root ../shared/data --dataset retinamnist
    python benchmarks/bench_train.py --synthetic-dermamnist        # DermaMNIST-sized, no download
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import medmnist
import torch
import torchvision.transforms as T
from torch import nn
from torch.utils.data import DataLoader

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from reportgen.config import BuildConfig
from reportgen.data import load_dataset
from reportgen.model import StudyCNN
from reportgen.train import (
    StepRecipe,
    make_optimizer,
    make_step,
    prepare_model,
    seed_everything,
    to_device_tensors,
    train_one_epoch,
)


def reference_epochs(
    flag: str, root: Path, config: BuildConfig, device: torch.device, epochs: int
) -> float:
    """Images per second of the textbook pipeline: per-item PIL -> ToTensor -> Normalize -> DataLoader."""
    transform = T.Compose([T.ToTensor(), T.Normalize(mean=[0.5], std=[0.5])])
    dataset = getattr(medmnist, medmnist.INFO[flag]["python_class"])(
        split="train", transform=transform, root=str(root)
    )
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    seed_everything(config.seed)
    model = StudyCNN(medmnist.INFO[flag]["n_channels"], len(medmnist.INFO[flag]["label"])).to(
        device
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    loss_function = nn.CrossEntropyLoss()
    model.train()
    started = time.perf_counter()
    for _ in range(epochs):
        for images, labels in loader:
            images, labels = images.to(device), labels.squeeze(1).long().to(device)
            loss = loss_function(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * len(dataset) / (time.perf_counter() - started)


@dataclass(frozen=True)
class Setup:
    """One way of running reportgen's loop, as a row of the benchmark."""

    label: str
    precision: str = "fp32"
    cuda_graph: bool = False  # replay the step as a CUDA graph (reportgen's default on CUDA)
    channels_last: bool = True  # reportgen's layout; False: NCHW images and model
    compile: bool = False  # torch.compile(model), default mode; tried, not used by reportgen


def reportgen_epochs(
    flag: str, root: Path, config: BuildConfig, device: torch.device, epochs: int, setup: Setup
) -> float:
    """Images per second of reportgen's loop: preloaded uint8 tensors, per-batch normalisation."""
    dataset = load_dataset(flag, root, allow_unofficial=True)
    generator = seed_everything(config.seed)
    model = StudyCNN(dataset.train.images.shape[-1], len(dataset.class_names))
    images, labels = to_device_tensors(dataset.train, device)
    if setup.channels_last:
        model = prepare_model(model, device)
    else:
        model, images = model.to(device), images.contiguous()
    optimizer = make_optimizer(model, config)
    if setup.compile:
        model = torch.compile(model)
    recipe = StepRecipe(
        config.batch_size, "shuffle", False, 0.0, nn.CrossEntropyLoss(), setup.precision
    )
    step = make_step(model, optimizer, images, labels, recipe, generator, setup.cuda_graph)
    started = time.perf_counter()
    for _ in range(epochs):
        train_one_epoch(model, step, None, labels, recipe, generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * images.shape[0] / (time.perf_counter() - started)


def setups(device: torch.device, compile_model: bool) -> list[Setup]:
    """reportgen's two precisions as it runs them on this device, then what was tried beside."""
    if device.type != "cuda":
        rows = [
            Setup("reportgen --precision fp32 (preloaded, channels-last)"),
            Setup("reportgen --precision bf16 (the same, bfloat16 autocast)", "bf16"),
            Setup("  fp32, NCHW instead of channels-last", channels_last=False),
            Setup("  bf16, NCHW instead of channels-last", "bf16", channels_last=False),
        ]
    else:
        rows = [
            Setup(
                "reportgen --precision fp32 (preloaded, channels-last, CUDA graph)", cuda_graph=True
            ),
            Setup(
                "reportgen --precision bf16 (the same, bfloat16 autocast)", "bf16", cuda_graph=True
            ),
            Setup("  fp32 without the CUDA graph (eager steps)"),
            Setup("  bf16 without the CUDA graph (eager steps)", "bf16"),
            Setup(
                "  fp32, CUDA graph, NCHW instead of channels-last",
                cuda_graph=True,
                channels_last=False,
            ),
            Setup("  fp32, eager, NCHW", channels_last=False),
        ]
    if compile_model:
        rows.append(Setup("  fp32, eager, torch.compile(model)", compile=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="dermamnist")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument(
        "--synthetic-dermamnist",
        action="store_true",
        help="write a DermaMNIST-sized synthetic file",
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--compile", action="store_true", help="also time torch.compile(model) (compiles first)"
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="a results.json whose stage timings to print"
    )
    args = parser.parse_args()

    root = args.data_root
    if args.synthetic_dermamnist:
        from tests.conftest import DERMAMNIST_COUNTS, write_synthetic_npz

        root = Path(tempfile.mkdtemp())
        write_synthetic_npz(root / "dermamnist.npz", DERMAMNIST_COUNTS)
        args.dataset = "dermamnist"
    if root is None:
        parser.error("give --data-root or --synthetic-dermamnist")
    device = torch.device(args.device)
    config = BuildConfig(dataset=args.dataset, device=args.device)
    name = (
        torch.cuda.get_device_name()
        if device.type == "cuda"
        else f"CPU, {torch.get_num_threads()} torch threads"
    )
    print(
        f"device: {name}; dataset: {args.dataset}; epochs: {args.epochs}; batch {config.batch_size}"
    )
    rows = setups(device, args.compile)
    for setup in rows:  # warm up every pipeline (and compile) before timing
        reportgen_epochs(args.dataset, root, config, device, 1, setup)
    reference_epochs(args.dataset, root, config, device, 1)
    reference = reference_epochs(args.dataset, root, config, device, args.epochs)
    print(
        f"{'reference (medmnist Dataset + ToTensor/Normalize + DataLoader)':<72}{reference:9.0f} images/s"
    )
    for setup in rows:
        ours = reportgen_epochs(args.dataset, root, config, device, args.epochs, setup)
        print(f"{setup.label:<72}{ours:9.0f} images/s  {ours / reference:.2f}x")
    if args.results is not None:
        timings = json.loads(args.results.read_text())["timings"]
        print("stage breakdown of", args.results)
        for stage, seconds in timings.items():
            print(f"  {stage:<12} {seconds:8.2f} s")
        print(f"  {'total':<12} {sum(timings.values()):8.2f} s")


if __name__ == "__main__":
    main()
