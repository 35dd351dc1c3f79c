#!/usr/bin/env bash
# Run on the CPU development machine, from anywhere: packs what benchmarks/gpu_check.py needs on a GPU
# machine that has Python 3.12, torch (CUDA), transformers and sentence-transformers but no internet,
# no faiss and no ../shared/data:
#   .device/wheels/   py3.12 manylinux wheels of thinkir's other dependencies (installed --no-deps,
#                     only those the GPU machine lacks; see gpu_run.sh)
#   .device/scifact/  corpus.jsonl.gz (2.7 MB)
#   .device/minilm/   all-MiniLM-L6-v2 in compact form (fp16, int8 token embeddings: 34 MB instead of 87)
# These three folders must stay under 60 MB together: pass exactly them as the device run's `carry`.
# Versions are those of this machine's venv, so both sides run the same faiss/bm25s/... code.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEV=.device
LIMIT_MB=60
mkdir -p "$DEV/wheels" "$DEV/scifact"

# thinkir's dependencies (pyproject) and what they pull that the GPU image may not have.
PKGS=(faiss-cpu bm25s PyStemmer ir-measures pytrec-eval-terrier peft gguf typer pydantic-settings filelock
      pydantic pydantic-core annotated-types typing-inspection python-dotenv annotated-doc shellingham)
pins=()
for p in "${PKGS[@]}"; do
  v=$("$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p")
  pins+=("$p==$v")
done
rm -f "$DEV"/wheels/*.whl
"$PY" -m pip download --quiet --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
  --no-deps -d "$DEV/wheels" "${pins[@]}"

cp ../shared/data/scifact/corpus.jsonl.gz "$DEV/scifact/corpus.jsonl.gz"
MODEL=$("$PY" -c "from thinkir.models import resolve; print(resolve('minilm', 'embedder'))")
"$PY" benchmarks/gpu_check.py --model "$MODEL" --compact-model-to "$DEV/minilm"

du -sh "$DEV/wheels" "$DEV/scifact" "$DEV/minilm"
total=$(du -sm -c "$DEV/wheels" "$DEV/scifact" "$DEV/minilm" | tail -n 1 | cut -f1)
echo "total ${total} MB (limit ${LIMIT_MB} MB); carry: .device/wheels .device/scifact .device/minilm"
[ "$total" -lt "$LIMIT_MB" ] || { echo "too big for the device run" >&2; exit 1; }
