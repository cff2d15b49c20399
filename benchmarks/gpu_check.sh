#!/usr/bin/env bash
# The GPU checks and timings in benchmarks/RESULTS.md, in one script for a machine with a CUDA GPU
# (run from the repository root; reportgen and its dependencies importable by `python3`).
#   RETINAMNIST_ROOT  folder holding the official retinamnist.npz (for the parallel-runs timing)
#   WORK              scratch folder (default: a new temporary one)
set -uo pipefail
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d)}
export PYTHONUNBUFFERED=1

echo "== machine"
nvidia-smi -L
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), torch.cuda.get_device_name())"
nproc

echo "== the CUDA tests (graph replay against eager steps; where train_model captures)"
"$PYTHON" -m pytest -q -p no:cacheprovider tests/test_cuda.py

echo "== training throughput, DermaMNIST-sized synthetic data (twice, for the spread)"
for _ in 1 2; do
    "$PYTHON" benchmarks/bench_train.py --synthetic-dermamnist --device cuda --epochs 5
done

echo "== every experiment variant, seed 0, DermaMNIST-sized synthetic data, --device cuda"
"$PYTHON" - "$WORK/derma" <<'EOF'
import sys
from pathlib import Path
from tests.conftest import DERMAMNIST_COUNTS, write_synthetic_npz
write_synthetic_npz(Path(sys.argv[1]) / "data" / "dermamnist.npz", DERMAMNIST_COUNTS)
EOF
sed 's/^seeds = \[0, 1, 2\]/seeds = [0]/' experiments.toml > "$WORK/derma/seed0.toml"
/usr/bin/time -f "%e s wall" "$PYTHON" -m reportgen build --data-root "$WORK/derma/data" \
    --allow-unofficial-data --experiments "$WORK/derma/seed0.toml" --device cuda --quiet \
    --docs-dir "$WORK/derma/docs" --site-dir "$WORK/derma/site" --cache-dir "$WORK/derma/cache"
"$PYTHON" - "$WORK/derma/docs/data" <<'EOF'
import json, sys
from pathlib import Path
data = Path(sys.argv[1])
print("main build stages:", json.loads((data / "results.json").read_text())["timings"])
for variant in json.loads((data / "experiments.json").read_text())["variants"]:
    seconds = [run["train_seconds"] for run in variant["runs"]]
    print(f"  {variant['name']:<20} train seconds {seconds}")
EOF

if [ -n "${RETINAMNIST_ROOT:-}" ]; then
    echo "== experiment runs on the GPU: one at a time against two concurrent workers"
    "$PYTHON" benchmarks/bench_jobs.py --data-root "$RETINAMNIST_ROOT" --device cuda --jobs 2
fi

echo "== torch.compile, tried (compiles during the warm-up epoch)"
timeout 150 "$PYTHON" benchmarks/bench_train.py --synthetic-dermamnist --device cuda --epochs 5 \
    --compile
