#!/usr/bin/env bash
# The GPU half of the performance checks, sized for one call on a lent GPU machine (minutes):
# the CUDA test, then training throughput on the GPU against the seed-style step on the same
# GPU: DCGAN-64 at batch 64 and 256 (ORL faces) and 1024 (MNIST resized to 64 px; the goal is
# >= 10,000 img/s on an H100), and ACGAN-32 at batch 256.
#
#   bash scripts/gpu_check.sh [OUT_DIR]        (from the repository root; default $OUT or gpu-check/)
#
# Writes env.txt, pytest_cuda.txt and bench_train.jsonl (one JSON object per run) to OUT_DIR.
# PYTHON picks the interpreter (default python3, which on the lent machines holds CUDA torch).
set -uo pipefail
out=${1:-${OUT:-gpu-check}}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 GAN_STUDIO_CACHE=${GAN_STUDIO_CACHE:-/tmp/gan-studio-cache}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  nproc
  $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} 2>&1 | tee "$out/env.txt"

$py -m pytest -q -rs -p no:cacheprovider tests/test_distributed.py -k cuda 2>&1 | tee "$out/pytest_cuda.txt"

: > "$out/bench_train.jsonl"
for run in "dcgan 64 64 orl-faces" "dcgan 64 256 orl-faces" "dcgan 64 1024 mnist" "acgan 32 256 mnist"; do
  read -r model size batch data <<< "$run"
  echo "== bench train $model $size px, batch $batch, $data"
  timeout 240 $py -m gan_core.bench train --model "$model" --image-size "$size" --batch-size "$batch" \
    --dataset "$data" --device cuda --steps 20 --json 2>>"$out/bench.err" | tee -a "$out/bench_train.jsonl"
done
