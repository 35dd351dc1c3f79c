#!/usr/bin/env bash
# DeAR on one GPU: train stage 1 (pointwise) and stage 2 (listwise) on SmolLM2-135M, then evaluate
# BM25 / teacher / stage 1 / stage 1+2 on DL19 (top-100), TREC-COVID (top-20) and SciFact test (top-100).
#
#   DATA=.device/data OUT=$OUT bash scripts/dear_gpu.sh          # from the repo root
#
#   DATA    copies of the ../shared/data files in scripts/dear_gpu_files.txt (same layout), plus DATA/cache
#           made on a CPU by `python scripts/dear_eval.py prep` (SciFact bm25s ids: bm25s is not needed here)
#   OUT     results (6 files): dear_gpu.log, dear_summary.json, eval_summary.json, runs.tar.gz,
#           dear_pointwise_adapter.tar.gz, dear_listwise_adapter.tar.gz (~8 MB each: LoRA r 16 in bf16)
#   LLM     the base LM: an HF model folder, a folder holding the SmolLM2 GGUF (or its split parts
#           *.gguf.part-*, joined and converted once into runs/smollm2-hf; needs the gguf package), or a
#           registry key [.device/smollm2]
#   MINILM  the MiniLM sentence-transformers folder: the distillation teacher and the "teacher" row
#           [.device/minilm]; without it stage 1 trains without the KL term and the teacher row is absent
#           (unless DATA/cache already holds its scores)
#   DEAR_TINY=1  CPU smoke run of the same code paths: 10 steps per stage, 3 queries per dataset
#   DEAR_TRAIN_SECONDS  training budget per stage [the configs: 200 and 150]; DEAR_S1_SECONDS / DEAR_S2_SECONDS
#           set one stage's budget; DEAR_DATASETS [dl19,covid,scifact]
#   DEAR_PARALLEL=1  train the two stages at the same time (one GPU)
#   DEAR_PHASES  train,eval [both]: `train` alone leaves the adapters in $WORK for a later `eval` call
# thinkir need not be installed: src/ goes on PYTHONPATH. Needs torch, transformers, peft, scipy;
# sentence-transformers only for missing teacher scores; ir-measures when present (else the same nDCG).
set -euo pipefail

DATA=${DATA:?set DATA to the data folder (e.g. .device/data)}
OUT=${OUT:?set OUT to the output folder}
LLM=${LLM:-${MODEL:-.device/smollm2}}
MINILM=${MINILM:-.device/minilm}
CACHE=${CACHE:-$DATA/cache}
TINY=${DEAR_TINY:-0}
WORK=${WORK:-runs/dear-gpu}
mkdir -p "$OUT" "$WORK"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
PY=${PYTHON:-python3}
exec > >(tee -a "$OUT/dear_gpu.log") 2>&1

T0=$(date +%s)
stamp() { echo "[dear_gpu] $(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s $*"; }
stamp "start: DATA=$DATA LLM=$LLM TINY=$TINY"
$PY - <<'PY' || true
import torch
print("[dear_gpu] torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
PY
# the base LM: an HF folder as is; a GGUF (or its parts) converted once into runs/smollm2-hf (or reused
# from an LREM run on the same machine)
if [[ -d "$LLM" && ! -f "$LLM/config.json" ]]; then
  for done_dir in runs/smollm2-hf runs/lrem_gpu/llm; do
    [[ -f "$done_dir/config.json" ]] && { LLM=$done_dir; break; }
  done
fi
if [[ -d "$LLM" && ! -f "$LLM/config.json" ]]; then
  shopt -s nullglob
  parts=("$LLM"/*.gguf.part-*)
  ggufs=("$LLM"/*.gguf)
  shopt -u nullglob
  if (( ${#parts[@]} )); then
    mkdir -p runs/gguf
    joined="runs/gguf/$(basename "${parts[0]%%.part-*}")"
    [[ -f "$joined" ]] || cat "${parts[@]}" > "$joined"
    ggufs=("$joined")
  fi
  (( ${#ggufs[@]} )) || { echo "no model (config.json or *.gguf) in $LLM" >&2; exit 2; }
  stamp "converting ${ggufs[0]} to runs/smollm2-hf (once)"
  $PY -c "import sys; from pathlib import Path; from thinkir.models import convert_gguf; \
print(convert_gguf(Path(sys.argv[1]), Path(sys.argv[2])))" "${ggufs[0]}" runs/smollm2-hf
  LLM=runs/smollm2-hf
fi
MODEL=$LLM
TEACHER_PATH=""
[[ -d "$MINILM" ]] && TEACHER_PATH=$MINILM
for f in scifact-train-bm25.json scifact-test-bm25.json; do
  [ -e "$CACHE/$f" ] || { echo "missing $CACHE/$f: run python scripts/dear_eval.py prep on a CPU first"; exit 2; }
done
for f in $(grep -v '^#' scripts/dear_gpu_files.txt); do
  [ -e "$DATA/$f" ] || { echo "missing data file: $DATA/$f (see scripts/dear_gpu_files.txt)"; exit 2; }
done

# configs with data paths under $DATA (and, for DEAR_TINY, a few steps only)
$PY - "$DATA" "$CACHE" "$MODEL" "$WORK" "$TINY" "$TEACHER_PATH" <<'PY'
import json, os, sys
data, cache, model, work, tiny, teacher_path = sys.argv[1:7]
def fix(path, out, extra):
    cfg = json.load(open(path))
    def sub(v):
        return v.replace("../shared/data", data) if isinstance(v, str) else v
    for k, v in list(cfg.items()):
        cfg[k] = [sub(x) for x in v] if isinstance(v, list) else sub(v)
    cfg.update(base_model=model, base_model_name="smollm2-135m", output_dir=f"{work}/{out}", **extra)
    if "cache_dir" in cfg:
        cfg["cache_dir"] = cache
        cfg["teacher_path"] = teacher_path or None
    if tiny == "1":
        cfg.update(max_steps=10, batch_size=1, log_every=2, checkpoint_every=5, max_train_seconds=900)
        cfg.update({"max_groups": 20, "n_negatives": 1, "p_max_len": 32} if out == "pointwise" else
                   {"max_examples": 20, "passage_tokens": 16, "max_new_tokens": 16, "dev_windows": 2})
    for var in ("DEAR_TRAIN_SECONDS", "DEAR_S1_SECONDS" if out == "pointwise" else "DEAR_S2_SECONDS"):
        if os.environ.get(var):
            cfg["max_train_seconds"] = float(os.environ[var])
    json.dump(cfg, open(f"{work}/{out}.json", "w"), indent=2)
fix("configs/dear_pointwise_gpu.json", "pointwise", {})
fix("configs/dear_listwise_gpu.json", "listwise", {})
PY

PHASES=",${DEAR_PHASES:-train,eval},"
S1_TRAIN=0 S2_TRAIN=0
if [[ $PHASES == *",train,"* ]]; then
# the two stages share nothing until evaluation: DEAR_PARALLEL=1 trains them side by side (a 135M model
# leaves the GPU mostly idle), each process timing itself
train_stage() {  # stage-number module config
  local t; t=$(date +%s)
  stamp "stage $1: train ($3)"
  $PY -m "thinkir.training.$2" --config "$WORK/$2.json" || return $?
  echo $(( $(date +%s) - t )) > "$WORK/$2.seconds"
  stamp "stage $1 trained in $(cat "$WORK/$2.seconds")s"
}
if [ "${DEAR_PARALLEL:-0}" = "1" ]; then
  train_stage 2 listwise configs/dear_listwise_gpu.json & S2_PID=$!
  train_stage 1 pointwise configs/dear_pointwise_gpu.json
  wait $S2_PID
else
  train_stage 1 pointwise configs/dear_pointwise_gpu.json
  train_stage 2 listwise configs/dear_listwise_gpu.json
fi
S1_TRAIN=$(cat "$WORK/pointwise.seconds") S2_TRAIN=$(cat "$WORK/listwise.seconds")

# one archive per stage: each file that comes back from the GPU machine must stay under 16 MiB
for stage in pointwise listwise; do
  tar czf "$OUT/dear_${stage}_adapter.tar.gz" -C "$WORK" "$stage/adapter" "$stage/run_config.json" "$stage/metrics.json"
done
ls -l "$OUT"/dear_*_adapter.tar.gz
fi
[[ $PHASES == *",eval,"* ]] || { stamp "done (train only)"; exit 0; }

stamp "evaluate"
T=$(date +%s)
if [ "$TINY" = "1" ]; then
  EVAL_ARGS=(--max-queries 3 --depth 6 --stage2-depth 5 --max-new-tokens 16 --latency-queries 1)
else
  EVAL_ARGS=(--gen-batch 256 --score-batch 128 --latency-queries 1)
fi
$PY scripts/dear_eval.py run --data "$DATA" --cache "$CACHE" --out "$OUT" --runs-dir "$OUT/runs" \
  --base-model "$MODEL" --datasets "${DEAR_DATASETS:-dl19,covid,scifact}" \
  --pointwise "$WORK/pointwise/adapter" --listwise "$WORK/listwise/adapter" \
  ${TEACHER_PATH:+--teacher-path "$TEACHER_PATH"} "${EVAL_ARGS[@]}"
EVAL_S=$(( $(date +%s) - T ))
stamp "evaluated in ${EVAL_S}s"

$PY - "$OUT" "$WORK" "$S1_TRAIN" "$S2_TRAIN" "$EVAL_S" "$(( $(date +%s) - T0 ))" <<'PY'
import json, sys
out, work, s1, s2, ev, total = sys.argv[1:7]
ev_sum = json.load(open(f"{out}/eval_summary.json"))
summary = {
    "seconds": {"stage1_train": int(s1), "stage2_train": int(s2), "eval": int(ev), "total": int(total)},
    "stage1_training": {k: v for k, v in json.load(open(f"{work}/pointwise/metrics.json")).items() if k != "log"},
    "stage2_training": {k: v for k, v in json.load(open(f"{work}/listwise/metrics.json")).items() if k != "log"},
    "note": "seconds of a stage are 0 when it ran in an earlier call (DEAR_PHASES)",
    "eval": ev_sum,
}
json.dump(summary, open(f"{out}/dear_summary.json", "w"), indent=2)
print("[dear_gpu] nDCG@10:", json.dumps({d: {s: m["nDCG@10"] for s, m in v["metrics"].items()}
                                         for d, v in ev_sum["datasets"].items()}))
print("[dear_gpu] stage-2 valid rate:", {d: v["stage2"]["valid_rate"] for d, v in ev_sum["datasets"].items()})
PY
stamp "done"
