#!/usr/bin/env bash
# Everything that needs a CUDA GPU, sized for one call on a lent GPU machine (a few minutes on an
# H200): each step has its own time limit, and all of them share GPU_CHECK_BUDGET seconds
# (default 540, so one 10-minute call always returns; a step left without time fails):
#   1. the CUDA tests: autocast/channels_last/GPU-resident data, fp16 with WGAN-GP and R1,
#      pinned batches, exact resume in deterministic mode, train time synchronised with the GPU;
#   2. real CLI runs on MNIST: fp16 + WGAN-GP (5 critic steps), R1 with BatchNorm in D (auto
#      precision, and fp16), and a CUDA resume (30 steps + resume to 60 must equal 60 straight,
#      in deterministic mode), each checked for a finished status and finite losses;
#   3. a timing check: the --dry-run estimate beside the img/s the run logged;
#   4. training throughput on the GPU against the seed-style step on the same GPU: DCGAN-64 at
#      batch 64 and 256 (ORL faces) and 1024 (MNIST resized to 64 px; the goal is >= 10,000
#      img/s on an H100), and ACGAN-32 at batch 256.
#
#   bash scripts/gpu_check.sh [OUT_DIR]        (from the repository root; default $OUT or gpu-check/)
#
# Writes env.txt, pytest_cuda.txt, runs/, cli_checks.txt, timing.txt, bench_train.jsonl and
# summary.txt (one PASS/FAIL line per check) to OUT_DIR; exits 1 if a check failed, 3 (before
# doing anything else) when no CUDA GPU is visible. PYTHON picks the interpreter (default
# python3, which on the lent machines holds CUDA torch).
set -uo pipefail
out=${1:-${OUT:-gpu-check}}
py=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 GAN_STUDIO_CACHE=${GAN_STUDIO_CACHE:-/tmp/gan-studio-cache}
# deterministic cuBLAS needs its workspace fixed before the process first uses cuBLAS
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv 2>/dev/null || echo "no nvidia-smi"
  echo "cores: $(nproc)"
  $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} 2>&1 | tee "$out/env.txt"

if ! $py -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  echo "gpu_check: no CUDA GPU visible to $py; nothing here can be checked (run this on a GPU machine)" | tee "$out/summary.txt"
  exit 3
fi

budget=${GPU_CHECK_BUDGET:-540}
limit() {  # limit SECONDS: that, or what is left of the budget if less (at least 1)
  local t=$1 left=$((budget - SECONDS))
  [ "$left" -lt "$t" ] && t=$left
  [ "$t" -lt 1 ] && t=1
  echo "$t"
}
: > "$out/summary.txt"
failed=0
record() {  # record NAME STATUS
  if [ "$2" -eq 0 ]; then echo "PASS $1" | tee -a "$out/summary.txt"
  else echo "FAIL $1 (exit $2)" | tee -a "$out/summary.txt"; failed=1; fi
}

# 1. the CUDA tests (each skips itself without CUDA; here none may skip)
timeout "$(limit 240)" $py -m pytest -q -rs -p no:cacheprovider tests/test_distributed.py tests/test_amp.py \
  tests/test_device.py tests/test_training.py -k "cuda or exact_resume or pinned" 2>&1 | tee "$out/pytest_cuda.txt"
record "pytest CUDA tests" "${PIPESTATUS[0]}"
if grep -q "SKIPPED" "$out/pytest_cuda.txt"; then record "no CUDA test skipped" 1; fi

# 2. CLI runs on the GPU
train() {  # train OUT_NAME ARGS...: a small MNIST DCGAN run on the GPU
  local name=$1; shift
  timeout "$(limit 120)" $py -m gan_core.train --dataset mnist --model dcgan --image-size 32 --batch-size 64 \
    --device cuda --log-every 10 --sample-every 1000 --ckpt-every 30 --quiet --out "$out/runs/$name" "$@" \
    2>>"$out/cli_checks.txt"
}
finished() {  # finished OUT_NAME STEPS [STAT]: status finished at STEPS, every logged loss finite
  $py - "$out/runs/$1" "$2" "${3:-}" <<'EOF' 2>&1 | tee -a "$out/cli_checks.txt"
import json, math, sys
from pathlib import Path
run, steps, stat = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
status = json.loads((run / "status.json").read_text())
rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
keys = ["loss_d", "loss_g"] + ([stat] if stat else [])
ok = status["state"] == "finished" and status["step"] == steps and rows and all(
    k in r and math.isfinite(r[k]) for r in rows for k in keys)
print(run.name, status.get("state"), status.get("step"), status.get("device"),
      [{k: r.get(k) for k in ["step", "img_per_s"] + keys} for r in rows[-2:]])
sys.exit(0 if ok else 1)
EOF
}
: > "$out/cli_checks.txt"
train fp16-wgan-gp --loss wgan-gp --precision fp16 --steps 60 && finished fp16-wgan-gp 60 gp
record "fp16 + WGAN-GP (5 critic steps) CLI run" $?
train r1-auto --r1 10 --r1-every 4 --steps 60 && finished r1-auto 60 r1
record "R1 with BatchNorm D, auto precision, CLI run" $?
train r1-fp16 --r1 10 --r1-every 4 --precision fp16 --steps 60 && finished r1-fp16 60 r1
record "R1 with BatchNorm D, fp16, CLI run" $?

# a CUDA resume in deterministic mode: 30 steps, then --resume to 60, equals 60 straight
export GAN_STUDIO_DETERMINISTIC=1
train straight --steps 60 --ema 0.9 && train resumed --steps 30 --ema 0.9 \
  && timeout "$(limit 120)" $py -m gan_core.train --out "$out/runs/resumed" --resume --steps 60 --device cuda --quiet \
       2>>"$out/cli_checks.txt" \
  && $py - "$out/runs" <<'EOF' 2>&1 | tee -a "$out/cli_checks.txt"
import sys, torch
from pathlib import Path
from safetensors.torch import load_file
runs = Path(sys.argv[1])
same = True
for f in ("generator.safetensors", "generator_ema.safetensors", "discriminator.safetensors"):
    a = load_file(str(runs / "straight/checkpoints/latest" / f))
    b = load_file(str(runs / "resumed/checkpoints/latest" / f))
    equal = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    worst = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    print(f, "bit-identical" if equal else f"differs (max abs difference {worst:.3g})")
    same &= equal
sys.exit(0 if same else 1)
EOF
record "CUDA resume bit-exact (deterministic mode, CLI)" $?
unset GAN_STUDIO_DETERMINISTIC

# 3. timing: the dry-run's estimate beside what the R1 run logged (both synchronised with the GPU)
{
  echo "dry run (auto precision, R1):"
  timeout "$(limit 120)" $py -m gan_core.train --dataset mnist --model dcgan --image-size 32 --batch-size 64 --device cuda \
    --r1 10 --r1-every 4 --steps 60 --out "$out/runs/dry" --dry-run --json --calibration-steps 20
  echo "logged by the run:"
  tail -n 2 "$out/runs/r1-auto/metrics.jsonl"
} 2>&1 | tee "$out/timing.txt"
record "dry-run timing" "${PIPESTATUS[0]}"

# 4. throughput (python -m bench, the top-level benchmark package)
bench=(-m bench)
: > "$out/bench_train.jsonl"
for run in "dcgan 64 64 orl-faces" "dcgan 64 256 orl-faces" "dcgan 64 1024 mnist" "acgan 32 256 mnist"; do
  read -r model size batch data <<< "$run"
  echo "== bench train $model $size px, batch $batch, $data"
  timeout "$(limit 150)" $py "${bench[@]}" train --model "$model" --image-size "$size" --batch-size "$batch" \
    --dataset "$data" --device cuda --steps 20 --json 2>>"$out/bench.err" | tee -a "$out/bench_train.jsonl"
  record "bench train $model-$size batch $batch" "${PIPESTATUS[0]}"
done

echo "== summary ($SECONDS s of the $budget s budget)"
cat "$out/summary.txt"
exit $failed
