"""Experiment runs: one at a time (--jobs 1, all cores per run) against parallel workers (--jobs N).

Runs the same small experiments plan twice with empty caches, in one invocation on one machine,
and prints the wall time of each and their ratio.

    python benchmarks/bench_jobs.py --data-root ../shared/data --dataset retinamnist
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAN = """\
seeds = [0, 1]
[[variants]]
name = "baseline"
[[variants]]
name = "adamw"
optimizer = "adamw"
lr = 0.001
[[variants]]
name = "wide-cnn"
model = "wide_cnn"
optimizer = "adamw"
lr = 0.003
schedule = "onecycle"
epochs = 15
"""


def timed_build(
    dataset: str, data_root: Path, plan: Path, jobs: int, work: Path, device: str
) -> float:
    command = [
        sys.executable, "-m", "reportgen", "build", "--dataset", dataset, "--data-root", str(data_root),
        "--experiments", str(plan), "--jobs", str(jobs), "--no-site", "--quiet", "--device", device,
        "--docs-dir", str(work / "docs"), "--cache-dir", str(work / "cache"),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dataset", default="retinamnist")
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers to compare"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        plan = root / "plan.toml"
        plan.write_text(PLAN)
        serial = timed_build(args.dataset, args.data_root, plan, 1, root / "serial", args.device)
        parallel = timed_build(
            args.dataset, args.data_root, plan, args.jobs, root / "parallel", args.device
        )
    print(
        f"{os.cpu_count()} CPU cores, --device {args.device}; 6 experiment runs (3 variants x 2 seeds) + the main run"
    )
    print(f"--jobs 1:            {serial:7.1f} s wall")
    print(f"--jobs {args.jobs}:            {parallel:7.1f} s wall")
    print(f"parallel speed-up: {serial / parallel:.2f}x")


if __name__ == "__main__":
    main()
