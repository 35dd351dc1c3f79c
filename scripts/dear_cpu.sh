#!/usr/bin/env bash
# DeAR end to end on 2 CPU cores (about 3 h, run one step after the other): train stage 1 and stage 2 on SmolLM2-135M-Instruct, evaluate
# BM25 / MiniLM teacher / stage 1 / stage 1 + 2 on DL19, TREC-COVID and SciFact test, write the report.
# bf16 autocast (training) and bf16 inference need a CPU with AVX512-BF16 or AMX to be fast; elsewhere set
# cpu_bf16=false in the configs and DTYPE=float32.
#   bash scripts/dear_cpu.sh        -> runs/dear-{pointwise,listwise}-cpu/, runs/dear-eval-cpu/, docs/results_dear.md
# STAGES picks steps [train1,train2,eval1,eval2,latency,report]; SCIFACT_DEPTH cuts SciFact's BM25 list [30].
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
THINKIR=${THINKIR:-.venv/bin/thinkir}
DATA=${DATA:-../shared/data}
DTYPE=${DTYPE:-bfloat16}
STAGES=${STAGES:-train1,train2,eval1,eval2,latency,report}
EVAL=runs/dear-eval-cpu
has() { [[ ",$STAGES," == *",$1,"* ]]; }

has train1 && $THINKIR train reranker-pointwise --config configs/dear_pointwise_cpu.json
has train2 && $THINKIR train reranker-listwise --config configs/dear_listwise_cpu.json
# stage 1 alone (BM25, teacher and stage-1 runs + per-query stage-1 latency)
has eval1 && $PY scripts/dear_eval.py run --data "$DATA" --cache runs/cache --out $EVAL/stage1 \
  --pointwise runs/dear-pointwise-cpu/adapter --dtype "$DTYPE" --depth "scifact=${SCIFACT_DEPTH:-30}" \
  --datasets dl19,covid,scifact
# stage 2 over the stage-1 top 30 of the run above (SciFact: the first SCIFACT_STAGE2_QUERIES queries only;
# stage 2 costs ~2.5 s per 5-passage window on one core)
has eval2 && $PY scripts/dear_eval.py run --data "$DATA" --cache runs/cache --out $EVAL/stage12 \
  --stage1-from $EVAL/stage1 --listwise runs/dear-listwise-cpu/adapter --dtype "$DTYPE" \
  --datasets dl19,covid --gen-batch 16
has eval2 && $PY scripts/dear_eval.py run --data "$DATA" --cache runs/cache --out $EVAL/stage12-scifact \
  --stage1-from $EVAL/stage1 --listwise runs/dear-listwise-cpu/adapter --dtype "$DTYPE" --datasets scifact \
  --depth "scifact=${SCIFACT_DEPTH:-30}" --max-queries "${SCIFACT_STAGE2_QUERIES:-40}" --latency-queries 0 --gen-batch 16
# latency of both stages on a quiet machine (all threads), 3 DL19 queries
has latency && $PY scripts/dear_eval.py run --data "$DATA" --cache runs/cache --out $EVAL/latency \
  --pointwise runs/dear-pointwise-cpu/adapter --listwise runs/dear-listwise-cpu/adapter --dtype "$DTYPE" \
  --datasets dl19 --max-queries 3 --latency-queries 1 --gen-batch 16
has report && $PY benchmarks/dear_report.py --eval $EVAL/stage1/eval_summary.json $EVAL/stage12/eval_summary.json \
  $EVAL/stage12-scifact/eval_summary.json --runs $EVAL/stage1/runs --data "$DATA" \
  --pointwise runs/dear-pointwise-cpu --listwise runs/dear-listwise-cpu --out docs/results_dear.md \
  --command "bash scripts/dear_cpu.sh"
exit 0
