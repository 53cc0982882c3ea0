#!/usr/bin/env bash
# Reproduce the shipped checkpoints (and the judges that measure them) on a CPU.
# Long runs live here, not in the tests. Usage: scripts/train_checkpoints.sh [judges|mnist-acgan|mnist-dcgan|orl-faces-acgan|orl-faces-r3gan|all]
# Each model trains into runs/ship-<name>/, then scripts/publish_checkpoint.py copies its EMA generator
# into checkpoints/<name>/ (with the command and wall time in its config.json), evaluates it
# (evaluation.json) and writes the model card and the README's table from those two files.
# `python scripts/publish_checkpoint.py --cards-only` rewrites the cards alone, without training.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
what=${1:-all}

train() {  # name, then the train flags
  local name=$1; shift
  local cmd=("$PY" -m gan_core.train "$@" --out "runs/ship-$name" --device "${DEVICE:-auto}" --threads "${THREADS:-0}")
  if [ -d "runs/ship-$name" ]; then cmd+=(--resume); fi
  echo "+ ${cmd[*]}"
  local t0; t0=$(date +%s)
  "${cmd[@]}"
  local prev; prev=$(cat "runs/ship-$name/.wall_seconds" 2>/dev/null || echo 0)  # summed over resumes
  echo "$(( prev + $(date +%s) - t0 ))" > "runs/ship-$name/.wall_seconds"
  "$PY" scripts/publish_checkpoint.py --run "runs/ship-$name" --name "$name" --command "${cmd[*]}"
}

if [ "$what" = judges ] || [ "$what" = all ]; then
  "$PY" -m gan_core.evaluate --train-judge digits
  "$PY" -m gan_core.evaluate --train-judge faces
fi
if [ "$what" = mnist-acgan ] || [ "$what" = all ]; then
  train mnist-acgan --dataset mnist --model acgan --image-size 32 --steps 12000 --batch-size 64 --aux-real-only --aux-weight 3 \
    --lr 2e-4 --beta1 0.5 --ema 0.999 --seed 1 --log-every 100 --sample-every 1000 --ckpt-every 1000
fi
if [ "$what" = mnist-dcgan ] || [ "$what" = all ]; then
  train mnist-dcgan --dataset mnist --model dcgan --image-size 32 --steps 36000 --batch-size 64 --eval-every 500 \
    --ngf 64 --ndf 32 --label-smoothing 0.1 --r1 1 --lr 2e-4 --beta1 0.5 --ema 0.999 --seed 1 --log-every 100 --sample-every 1000 --ckpt-every 1000
fi
if [ "$what" = orl-faces-acgan ] || [ "$what" = all ]; then
  train orl-faces-acgan --dataset orl-faces:train --model acgan --image-size 64 --steps 36000 --eval-every 1000 --batch-size 32 --ngf 32 --ndf 32 --aux-real-only \
    --hflip --diffaug translation,cutout,color --lr 2e-4 --beta1 0.5 --ema 0.999 --seed 1 \
    --log-every 100 --sample-every 1000 --ckpt-every 1000
fi
if [ "$what" = orl-faces-r3gan ] || [ "$what" = all ]; then
  # the automatic preset with a 60-minute budget (shipped: THREADS=1, beside another 1-thread run), as it was
  # then: mode-seeking 0.1 and a linear last layer (today's defaults: 0.3 and tanh)
  train orl-faces-r3gan --dataset orl-faces:train --preset auto --hflip --minutes 60 --steps 60000 --seed 1 \
    --mode-seeking 0.1 --g-output linear
fi
