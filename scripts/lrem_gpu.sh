#!/usr/bin/env bash
# LREM end to end on one GPU (or the CPU: scripts/lrem_cpu.sh): data construction -> cold start -> GRPO ->
# SciFact evaluation (routers fitted on the dev split) -> DL19 evaluation (the SciFact routers reused).
#
# Run from the repository root:   DATA=.device/data OUT=$OUT bash scripts/lrem_gpu.sh
#   DATA    folder laid out like ../shared/data (files listed in scripts/lrem_gpu_files.txt)
#   OUT     where the artefacts go (<= 8 files): adapters (tar.gz), run files (tar.gz), summary JSON, log
#   LLM     the LREM base LM: an HF model folder, a folder holding the SmolLM2 GGUF (or its split parts
#           *.gguf.part-*, joined here; needs the gguf package), or a registry key [.device/smollm2]
#   MINILM  the MiniLM sentence-transformers folder or registry key [.device/minilm]
#   LREM_TINY=1  minutes-on-CPU smoke test of the same code paths (configs/lrem_tiny.json)
# thinkir need not be installed: src/ goes on PYTHONPATH. Needs torch, transformers, peft,
# sentence-transformers, scipy; uses bm25s / ir-measures / PyStemmer when present, built-ins otherwise.
set -euo pipefail

: "${OUT:?set OUT to the output folder}"
DATA=${DATA:-.device/data}
LLM=${LLM:-.device/smollm2}
MINILM=${MINILM:-.device/minilm}
if [[ "${LREM_TINY:-0}" == "1" ]]; then
  CONFIG=${CONFIG:-configs/lrem_tiny.json}
  WORK=${WORK:-runs/lrem_tiny}
else
  CONFIG=${CONFIG:-configs/lrem_gpu.json}
  WORK=${WORK:-runs/lrem_gpu}
fi
PY=${PYTHON:-python3}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
  TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 HF_HUB_DISABLE_PROGRESS_BARS=1 TQDM_DISABLE=1 \
  THINKIR_CACHE_DIR="${THINKIR_CACHE_DIR:-$WORK/cache}"
mkdir -p "$OUT" "$WORK"
LOG="$OUT/lrem_gpu.log"
TIMES="$WORK/timings.tsv"
: > "$LOG"
: > "$TIMES"
T_START=$(date +%s.%N)

stage() {  # stage NAME CMD...: run, log, time
  local name=$1 t0 t1
  shift
  echo "=== $name: $*" | tee -a "$LOG"
  t0=$(date +%s.%N)
  "$@" 2>&1 | tee -a "$LOG"
  t1=$(date +%s.%N)
  printf '%s\t%.1f\n' "$name" "$(awk "BEGIN{print $t1 - $t0}")" | tee -a "$TIMES" | sed 's/^/[time] /' | tee -a "$LOG"
}

"$PY" - <<'PY' 2>&1 | tee -a "$LOG"
import platform, torch, transformers
print("python", platform.python_version(), "torch", torch.__version__, "transformers", transformers.__version__,
      "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu")
try:
    import peft; print("peft", peft.__version__)
except ImportError:
    raise SystemExit("peft is missing: install the carried wheel first")
PY

# the base LM: an HF folder as is; a GGUF (or its parts) converted once into $WORK/llm
if [[ -d "$LLM" && ! -f "$LLM/config.json" ]]; then
  shopt -s nullglob
  parts=("$LLM"/*.gguf.part-*)
  ggufs=("$LLM"/*.gguf)
  shopt -u nullglob
  if (( ${#parts[@]} )); then
    joined="$WORK/gguf/$(basename "${parts[0]%%.part-*}")"
    mkdir -p "$WORK/gguf"
    [[ -f "$joined" ]] || cat "${parts[@]}" > "$joined"
    ggufs=("$joined")
  fi
  (( ${#ggufs[@]} )) || { echo "no model (config.json or *.gguf) in $LLM" >&2; exit 2; }
  stage convert_llm "$PY" -c "import sys; from pathlib import Path; from thinkir.models import convert_gguf; \
print(convert_gguf(Path(sys.argv[1]), Path(sys.argv[2])))" "${ggufs[0]}" "$WORK/llm"
  LLM="$WORK/llm"
fi
[[ -e "$MINILM" || "$MINILM" != */* ]] || { echo "MiniLM not found at $MINILM" >&2; exit 2; }

stage data "$PY" -m thinkir.training.lrem_data --config "$CONFIG" --set "data_dir=$DATA" \
  --set "out_dir=$WORK/data" --set "llm=$LLM" --set "retriever=$MINILM"
cp "$WORK/data/stats.json" "$OUT/lrem_data_stats.json"
stage cold_start "$PY" -m thinkir.training.cold_start --config "$CONFIG" --set "llm=$LLM" \
  --set "data=$WORK/data/train.jsonl" --set "out_dir=$WORK/cold_start"
pack_adapter() {  # right after training, so a later failure still returns the adapter
  local a=$1 size
  size=$(du -b "$WORK/$a"/adapter_model.* | awk '{s+=$1} END {print s}')
  echo "adapter $a: $size bytes" | tee -a "$LOG"
  (( size < 15000000 )) || { echo "adapter $a is over 15 MB" | tee -a "$LOG"; exit 3; }
  tar czf "$OUT/lrem_$a.tar.gz" -C "$WORK" "$a"
}
pack_adapter cold_start
stage grpo "$PY" -m thinkir.training.grpo --config "$CONFIG" --set "llm=$LLM" \
  --set "data=$WORK/data/train.jsonl" --set "out_dir=$WORK/grpo" --set "adapters=[\"$WORK/cold_start\"]"
pack_adapter grpo
stage eval "$PY" -m thinkir.retrieval.reasoning.evaluate --config "$CONFIG" --set "data_dir=$DATA" \
  --set "llm=$LLM" --set "retriever=$MINILM" --set "split=$WORK/data/split.json" --set "out_dir=$WORK/eval" \
  --set "cold_adapter=$WORK/cold_start" --set "grpo_adapter=$WORK/grpo" \
  --set "partial_path=$OUT/lrem_summary.partial.json"
stage eval_dl19 "$PY" -m thinkir.retrieval.reasoning.evaluate --config "$CONFIG" --set "data_dir=$DATA" \
  --set "llm=$LLM" --set "retriever=$MINILM" --set dataset=dl19 --set "routers_from=$WORK/eval" \
  --set "out_dir=$WORK/eval_dl19" --set "cold_adapter=$WORK/cold_start" --set "grpo_adapter=$WORK/grpo"
cp "$WORK/eval_dl19/summary.json" "$OUT/lrem_summary_dl19.json"

# artefacts: runs + fitted routers, summary, data stats, timings (adapters were packed above)
rm -f "$OUT/lrem_summary.partial.json"
tar czf "$OUT/lrem_runs.tar.gz" -C "$WORK/eval" runs $(cd "$WORK/eval" && ls router_*.json)
cp "$WORK/eval/summary.json" "$OUT/lrem_summary.json"
T_END=$(date +%s.%N)
printf 'total\t%.1f\n' "$(awk "BEGIN{print $T_END - $T_START}")" >> "$TIMES"
"$PY" - "$TIMES" "$OUT/lrem_summary.json" <<'PY' 2>&1 | tee -a "$LOG"
import json, sys
times = dict(line.split("\t") for line in open(sys.argv[1]).read().split("\n") if line)
summary = json.load(open(sys.argv[2]))
summary["stage_seconds"] = {k: float(v) for k, v in times.items()}
json.dump(summary, open(sys.argv[2], "w"), indent=2)
print("stage seconds:", summary["stage_seconds"])
print(f"{'system':44s} {'nDCG@10':>8s} {'R@100':>7s}   (SciFact test, n={summary['n_test']})")
for name, m in summary["test"].items():
    if not name.startswith("router_"):
        sig = summary["significance_vs_direct_minilm"].get(name, {})
        print(f"{name:44s} {m['nDCG@10']:8.4f} {m['R@100']:7.4f}   p={sig.get('p_randomization', '-')}")
print("dev:", json.dumps(summary["dev"]))
for system, r in summary["router"].items():
    for c in r["curve"]:
        print(f"router {system:16s} t={c['threshold']:.3f} reasoned={c['share_reasoned']:.2f} "
              f"nDCG@10={c['nDCG@10']:.4f} R@100={c['R@100']:.4f} p50={c['latency_ms']['p50']}ms "
              f"p99={c['latency_ms']['p99']}ms p={c['vs_direct_minilm']['p_randomization']}")
PY
echo "done: $(ls "$OUT")" | tee -a "$LOG"
