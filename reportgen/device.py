"""Where and at what precision training runs: the device, its name, and bfloat16 support.

Split from train.py so the training loop reads on its own; like it, this module imports torch.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable
from pathlib import Path

import torch

from reportgen.config import BuildConfig
from reportgen.errors import ReportgenError


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an explicit choice that is absent is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ReportgenError(
            "--device cuda was asked for, but torch sees no CUDA GPU on this machine. "
            "Use --device cpu (or auto)."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise ReportgenError(
            "--device mps was asked for, but MPS is not available. Use --device cpu."
        )
    return torch.device(name)


NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo's names
# Instruction sets that can change which kernels a CPU runs (oneDNN dispatches on them), and so
# the rounding of its sums: named with the CPU, since a run's numbers can differ between CPUs.
KERNEL_FLAGS = (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16"), ("amx_tile", "AMX"))
CPUINFO_FILE = Path("/proc/cpuinfo")


def read_cpuinfo(cpuinfo: Path | None = None) -> str | None:
    """The text of /proc/cpuinfo (or of the file given); None where it cannot be read (not Linux)."""
    try:
        return (cpuinfo or CPUINFO_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_has_native_bf16(cpuinfo: str) -> bool:
    """Whether a /proc/cpuinfo text lists bfloat16 instructions (AVX512-BF16 or AMX-BF16)."""
    return not NATIVE_BF16_FLAGS.isdisjoint(cpuinfo.split())


def precision_note(device: torch.device, precision: str, cpuinfo: Path | None = None) -> str | None:
    """A warning when bf16 is asked for on a CPU without bfloat16 instructions; None otherwise.

    Where cpuinfo cannot be read (not Linux), nothing is known and nothing is said.
    """
    if precision != "bf16" or device.type != "cpu":
        return None
    text = read_cpuinfo(cpuinfo)
    if text is None or cpu_has_native_bf16(text):
        return None
    return (
        "note: this CPU lists no bfloat16 instructions (AVX512-BF16 or AMX), so --precision bf16 "
        "is emulated here and may well be slower than fp32; benchmarks/bench_train.py measures both."
    )


def precision_notes(configs: Iterable[BuildConfig]) -> list[str]:
    """The distinct precision notes for configs about to train, in first-seen order."""
    settings = dict.fromkeys((config.device, config.precision) for config in configs)
    notes = (precision_note(resolve_device(device), precision) for device, precision in settings)
    return list(dict.fromkeys(note for note in notes if note is not None))


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The forward pass's precision: fp32 (autocast off) or bfloat16 mixed precision.

    Under bf16, autocast runs convolutions and matrix products in bfloat16 and keeps batch-norm
    statistics, the loss and the weights in float32. Its cache of cast weights is off: it cannot
    live in a CUDA graph, and each weight is cast once per forward pass anyway.
    """
    return torch.autocast(
        device.type, dtype=torch.bfloat16, enabled=precision == "bf16", cache_enabled=False
    )


def describe_device(device: torch.device, cpuinfo: Path | None = None) -> str:
    """The hardware a run trained on, by name: the GPU's, or the CPU's model from /proc/cpuinfo
    with the instruction sets (KERNEL_FLAGS) it has."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    text = read_cpuinfo(cpuinfo) or ""
    model = platform.processor() or "unknown CPU"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
            break
    flags = set(text.split())
    kernels = [name for flag, name in KERNEL_FLAGS if flag in flags]
    return f"{model} with {', '.join(kernels)}" if kernels else model
