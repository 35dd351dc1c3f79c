#!/usr/bin/env bash
# LREM end to end on 2 CPU cores (about 1.5 h): configs/lrem_cpu.json through scripts/lrem_gpu.sh, on the
# packaged models and ../shared/data. bf16 autocast (training) and a bf16 model (evaluation) need a CPU with
# AVX512-BF16 or AMX to be fast; elsewhere set cpu_bf16=false / dtype="" in the config.
#   bash scripts/lrem_cpu.sh            -> runs/lrem_cpu/{data,cold_start,grpo,eval,eval_dl19}, runs/lrem_cpu/out
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHON=${PYTHON:-.venv/bin/python}
CONFIG=configs/lrem_cpu.json WORK=runs/lrem_cpu DATA=${DATA:-../shared/data} LLM=smollm2-135m MINILM=minilm \
  OUT=${OUT:-runs/lrem_cpu/out} exec bash scripts/lrem_gpu.sh
