#!/usr/bin/env bash
# The project's GPU session in one command, run on a lent GPU machine from the repository root after
# staging calls have left the SmolLM2 GGUF parts and the data in /root/stash. Each call may carry about
# 64 MiB less the repository, so the 98 MB GGUF travels in parts (2026-11-27, DeAR only):
#   here:  python scripts/dear_eval.py prep --data ../shared/data --cache .device/data/cache --teacher minilm
#          copy the files of scripts/dear_gpu_files.txt to .device/data/; wheels to .device/wheels
#          (benchmarks/gpu_prepare.sh); split -b 45000000 -d -a 1 <the GGUF> into .device/p1, p2, p3
#   call 1 (carry .device/p1): mkdir -p /root/stash && mv .device/p1/smol.gguf.part-0 /root/stash/
#   call 2 (carry .device/p2): mv .device/p2/smol.gguf.part-1 /root/stash/
#   call 3 (carry .device/p3 .device/data .device/wheels, timeout_s 598):
#          mv .device/p3/smol.gguf.part-2 /root/stash/ && mv .device/data /root/stash/data &&
#          DEVICE_BUDGET_S=580 DEAR_PARALLEL=1 DEAR_S1_SECONDS=200 DEAR_S2_SECONDS=150 bash scripts/device_all.sh dear
# With the teacher scores cached, .device/minilm (the check's and LREM's model) need not travel.
#   1. install the carried wheels the image lacks; 2. join + convert SmolLM2 once;
#   3. benchmarks/gpu_check.py (CUDA embedding, CUDA exact search vs CPU faiss);
#   4. scripts/dear_gpu.sh (train DeAR stage 1 + 2, evaluate); 5. scripts/lrem_gpu.sh (LREM).
# Everything lands in $OUT, packed into at most 8 files of at most 15 MiB.
#   bash scripts/device_all.sh check dear     # phases to run (any of: check dear lrem)
# DEVICE_BUDGET_S [580]: seconds the whole command may take (keep it under the run's timeout_s). DeAR and
# LREM get what is left of it after the conversion and the check (DEAR_S / LREM_S override), so the
# packing at the end always runs: a command killed by the run's own timeout brings nothing back.
set -uo pipefail
PHASES=" ${*:-check dear lrem} "
cd "$(dirname "$0")/.."
OUT=${OUT:?}
RES=/tmp/device-results-$$
mkdir -p "$RES" .device runs
T0=$(date +%s)
BUDGET=${DEVICE_BUDGET_S:-580}
left() { echo $(( BUDGET - ($(date +%s) - T0) - 25 )); }  # 25 s kept for packing
say() { echo "[device_all] +$(( $(date +%s) - T0 ))s $*" | tee -a "$RES/device_all.log"; }

ln -sfn /root/stash/data .device/data
mkdir -p .device/smollm2 && ln -sf /root/stash/smol.gguf.part-* .device/smollm2/
say "stash: $(ls /root/stash | tr '\n' ' ')"
nvidia-smi > "$RES/nvidia-smi.txt" 2>&1

missing=()
for whl in .device/wheels/*.whl; do
  dist=$(basename "$whl" | cut -d- -f1)
  python3 -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$dist" 2>/dev/null || missing+=("$whl")
done
[ ${#missing[@]} -gt 0 ] && python3 -m pip install -q --no-index --no-deps "${missing[@]}" 2>&1 | tail -3
say "installed ${#missing[@]} wheels"
export PYTHONPATH="$PWD/src" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

if [ ! -f runs/smollm2-hf/config.json ]; then
  mkdir -p runs/gguf
  cat .device/smollm2/smol.gguf.part-* > runs/gguf/SmolLM2-135M-Instruct.Q4_1.gguf
  python3 -c "from pathlib import Path; from thinkir.models import convert_gguf; \
print(convert_gguf(Path('runs/gguf/SmolLM2-135M-Instruct.Q4_1.gguf'), Path('runs/smollm2-hf')))" 2>&1 | tail -2
fi
say "smollm2 converted: $(ls runs/smollm2-hf 2>/dev/null | tr '\n' ' ')"

if [[ $PHASES == *" check "* ]]; then
mkdir -p "$RES/gpu"
timeout "${GPU_CHECK_S:-75}" python3 benchmarks/gpu_check.py --corpus .device/data/scifact/corpus.jsonl.gz \
  --model .device/minilm --synthetic-n 200000 --synthetic-queries 2000 --out "$RES/gpu/gpu_check.json" \
  > "$RES/gpu/gpu_check.log" 2>&1
say "gpu_check exit $?"
fi

# DeAR and LREM share the GPU (135M models leave it mostly idle), so they run side by side.
if [[ $PHASES == *" dear "* ]]; then
  mkdir -p "$RES/dear"
  ( DATA=.device/data OUT="$RES/dear" LLM=runs/smollm2-hf MINILM=.device/minilm \
      timeout "${DEAR_S:-$(left)}" bash scripts/dear_gpu.sh > /dev/null 2>&1; say "dear exit $?" ) &
fi
if [[ $PHASES == *" lrem "* ]]; then
  mkdir -p "$RES/lrem"
  ( DATA=.device/data OUT="$RES/lrem" LLM=runs/smollm2-hf MINILM=.device/minilm \
      timeout "${LREM_S:-$(left)}" bash scripts/lrem_gpu.sh > /dev/null 2>&1; say "lrem exit $?" ) &
fi
wait
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv >> "$RES/nvidia-smi.txt" 2>&1

# pack: big archives as they are (split over 15 MiB), everything else in one results.tar.gz
rm -rf /tmp/big && mkdir -p /tmp/big
find "$RES" -type f -size +1M -name '*.tar.gz' -exec mv {} /tmp/big/ \;
tar -czf "$OUT/results.tar.gz" -C "$RES" .
for f in /tmp/big/*; do
  [ -e "$f" ] || continue
  if [ "$(stat -c %s "$f")" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15M -d -a 1 "$f" "$OUT/$(basename "$f").part-"
  else
    mv "$f" "$OUT/"
  fi
done
ls -la "$OUT"
