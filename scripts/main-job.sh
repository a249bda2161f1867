#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job end to end:
# generate a small dataset with the bundled simulator, train briefly, evaluate against the
# gravity-only baseline and the published weights (data/dlf_pretrained/), roll out.
# Results land in out/. Takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DLAGRAD_BUILD_TESTS=OFF
lagrad=./build/lagrad
mkdir -p out

echo "== generate: 8 random scenes (6 train, 2 valid) x 60 frames"
rm -rf out/data
$lagrad generate --scenes 8 --valid-scenes 2 --frames 60 --min-particles 600 --max-particles 1200 \
  --seed 1 --output out/data --no-progress

echo "== train: configs/main_job.yaml -> out/train"
rm -rf out/train
$lagrad train configs/main_job.yaml --train-dir out/train --no-progress

echo "== evaluate"
$lagrad evaluate out/train --dataset out/data --frame-skip 10 -o out/eval_trained.json >/dev/null
$lagrad evaluate --baseline --dataset out/data --frame-skip 10 -o out/eval_baseline.json >/dev/null
$lagrad import data/dlf_pretrained/pretrained_model_weights.pt -o out/pretrained.lagrad
$lagrad evaluate out/pretrained.lagrad --dataset out/data --frame-skip 10 -o out/eval_pretrained.json >/dev/null

echo "== run: roll the trained model out for 50 steps from a validation scene"
first_valid=$(ls out/data/valid/*.msgpack.zst | head -n 1)
$lagrad run out/train --dataset-file "$first_valid" --num-steps 50 --output out/rollout --overwrite --no-progress
echo "== render: every 10th frame of the rollout as a picture"
$lagrad render out/rollout --output out/rollout/pictures --every 10 --overwrite --no-progress

echo
echo "== results (mean position errors in m; lower is better)"
for f in out/eval_*.json; do
  printf '%-26s ' "$(basename "$f" .json)"
  grep -E '"(err_n1|err_n2|whole_seq_err)"' "$f" | tr -d ' ,\n'
  echo
done
echo "data: out/data  training run: out/train (checkpoints, metrics.jsonl, tensorboard/)  rollout PLYs: out/rollout (pictures: out/rollout/pictures)"
