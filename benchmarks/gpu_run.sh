#!/usr/bin/env bash
# Run on the GPU machine from the repository root, after benchmarks/gpu_prepare.sh packed .device/ here
# (carry .device/wheels .device/scifact .device/minilm). Installs only the carried wheels whose
# distribution is missing (never replaces the image's torch/transformers stack), then runs the check.
# Writes $OUT/gpu_check.json, $OUT/gpu_check.log and $OUT/nvidia-smi.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" > "$OUT/nvidia-smi.txt"

missing=()
for whl in .device/wheels/*.whl; do
  dist=$(basename "$whl" | cut -d- -f1)
  python -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$dist" 2>/dev/null || missing+=("$whl")
done
if [ ${#missing[@]} -gt 0 ]; then
  python -m pip install --quiet --no-index --no-deps "${missing[@]}" 2>&1 | tail -n 5
fi
echo "installed ${#missing[@]} wheel(s): ${missing[*]:-none}" | tee "$OUT/gpu_check.log"

export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
timeout 170 python benchmarks/gpu_check.py --corpus .device/scifact/corpus.jsonl.gz --model .device/minilm \
  --out "$OUT/gpu_check.json" "$@" 2>&1 | tee -a "$OUT/gpu_check.log"
exit "${PIPESTATUS[0]}"
