#!/bin/bash
# Each quality option of issue 13 alone at 500 iterations, one core each, then eval 500 vs 500 (seed 0).
# The table "Each option alone" in models/README.md; eval JSON and logs in $LOGS. About 1.3 CPU-hours.
cd "$(dirname "$0")/.."
LOGS=${LOGS:-runs/ablate500-logs}; mkdir -p "$LOGS"
D=../shared/data/utkface-crop_part1
COMMON="--data $D --iterations 500 --sample-every 250 --sample-count 64 --checkpoint-every 250 --threads 1"
BASE="--preset dcgan64 --base-filters 32 --flip-augment true"
declare -A OPTS
OPTS[base]="$BASE"
OPTS[ema]="$BASE --ema 0.995"
OPTS[diffaug]="$BASE --diffaugment translation,cutout"
OPTS[faces64]="--preset faces64 --aux-classifier 0.5"   # the recipe as it was measured (the preset's class head is 2.0 now)
for name in base ema diffaug faces64; do
  out=runs/ablate500-$name
  [ -f $out/state.json ] && grep -q finished $out/state.json || node bin/fakeface.js train $COMMON ${OPTS[$name]} --out $out > $LOGS/$name.train.log 2>&1
  node bin/fakeface.js eval --run $out --data $D --count 500 --seed 0 --json > $LOGS/$name.json 2> $LOGS/$name.eval.err
  echo "$name done $(date)" >> $LOGS/progress
done
echo ALLDONE >> $LOGS/progress
