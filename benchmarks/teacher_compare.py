"""Which DeAR stage-1 teacher is better: the MiniLM bi-encoder or a cross-encoder fine-tuned from it?

    python benchmarks/teacher_compare.py --ce runs/teacher-ce/model --out docs/teacher_compare.json

Reranks the DL19 BM25 top-100 and the TREC-COVID BM25 top-20 with each teacher (the same scores the
distillation reads, ``thinkir.training.teacher``), reports nDCG@10 / nDCG@5 with ir-measures and a
paired randomization test (and t-test) of the cross-encoder against the bi-encoder, beside the dev-split
comparison that ``thinkir train cross-encoder`` wrote (``teacher_comparison.json`` next to the model).
Test queries only score here; nothing is tuned on them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

DATASETS = {
    "dl19": ("trec-dl19/bm25_top100.json", "trec-dl19/qrels.txt"),
    "trec-covid": ("trec-covid/bm25_top20.json", "trec-covid/qrels.txt"),
}


def _rerank(teacher: Any, lists: list[Any]) -> tuple[dict[str, list[tuple[str, float]]], float]:
    t0 = time.perf_counter()
    scores = teacher.score_many([r.query.text for r in lists], [[c.document for c in r.candidates] for r in lists])
    run = {
        r.query.id: sorted(((c.doc_id, s) for c, s in zip(r.candidates, sc, strict=True)), key=lambda x: -x[1])
        for r, sc in zip(lists, scores, strict=True)
    }
    return run, time.perf_counter() - t0


def main() -> None:
    from thinkir.evals.datasets import load_candidates, load_qrels
    from thinkir.evals.metrics import evaluate
    from thinkir.evals.significance import compare
    from thinkir.training.teacher import load_teacher

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ce", required=True, help="the fine-tuned cross-encoder folder")
    parser.add_argument("--bi", default="minilm", help="the bi-encoder teacher")
    parser.add_argument("--data", default="../shared/data", type=Path)
    parser.add_argument("--out", default="docs/teacher_compare.json", type=Path)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()

    teachers = {
        "bi-encoder": load_teacher(args.bi, device=args.device),
        "cross-encoder": load_teacher(args.ce, device=args.device),
    }
    report: dict[str, Any] = {"bi": args.bi, "ce": args.ce, "datasets": {}}
    dev = Path(args.ce).parent / "teacher_comparison.json"
    if dev.is_file():
        report["dev_split"] = json.loads(dev.read_text())
    for name, (cands, qrels_file) in DATASETS.items():
        lists = load_candidates(args.data / cands)
        qrels = load_qrels(args.data / qrels_file)
        ids = [r.query.id for r in lists]
        first = {r.query.id: [(c.doc_id, float(-i)) for i, c in enumerate(r.candidates)] for r in lists}
        rows: dict[str, Any] = {"bm25": {"result": evaluate(qrels, first, ["nDCG@10", "nDCG@5"], ids), "seconds": 0.0}}
        for label, teacher in teachers.items():
            run, secs = _rerank(teacher, lists)
            rows[label] = {"result": evaluate(qrels, run, ["nDCG@10", "nDCG@5"], ids), "seconds": secs}
        pq = {k: {q: v["nDCG@10"] for q, v in r["result"].per_query.items()} for k, r in rows.items()}
        sig = compare(pq["bi-encoder"], pq["cross-encoder"], "nDCG@10")
        report["datasets"][name] = {
            "queries": len(lists),
            "depth": max(len(r) for r in lists),
            "systems": {
                k: {**{m: round(v, 4) for m, v in r["result"].metrics.items()}, "seconds": round(r["seconds"], 1)}
                for k, r in rows.items()
            },
            "cross_vs_bi": {
                "delta": round(sig.mean_b - sig.mean_a, 4),
                "p_randomization": round(sig.p_randomization, 4),
                "p_ttest": round(sig.p_ttest, 4),
            },
        }
        print(name, json.dumps(report["datasets"][name]))
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
