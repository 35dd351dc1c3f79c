"""Stage-1 DeAR scoring on the CPU in fp32 against bf16: speed ratio and agreement, in one run.

    python benchmarks/bench_dear_dtype.py --adapter runs/dear-pointwise-cpu/adapter --queries 5

Scores the first ``--queries`` DL19 queries' BM25 top-100 passages with the same adapter loaded in
float32 and in bfloat16 (one torch thread count for both), and reports pairs/s for each, the speed
ratio, the mean Kendall tau between the two rankings and nDCG@10 of each on those queries.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def main(argv: list[str] | None = None) -> None:
    import torch
    from dear_eval import load_dataset, per_query_ndcg
    from scipy.stats import kendalltau

    from thinkir.rerank.pointwise import DearPointwiseReranker

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--queries", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    queries, cands, qrels = load_dataset("dl19", Path(args.data), Path("runs/cache"), None)
    queries, cands = queries[: args.queries], cands[: args.queries]
    out: dict = {"queries": len(queries), "pairs": sum(map(len, cands)), "threads": torch.get_num_threads()}
    scores: dict[str, list[list[float]]] = {}
    for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        model = DearPointwiseReranker.from_pretrained(args.adapter, dtype=dtype)
        model.score_documents(queries[0].text, [c.document for c in cands[0][:8]])  # warm-up
        t0 = time.perf_counter()
        scores[name] = [
            model.score_documents(q.text, [c.document for c in cs]) for q, cs in zip(queries, cands, strict=True)
        ]
        secs = time.perf_counter() - t0
        run = {
            q.id: [c.doc_id for _, c in sorted(zip(s, cs, strict=True), key=lambda p: -p[0])]
            for q, s, cs in zip(queries, scores[name], cands, strict=True)
        }
        vals, _ = per_query_ndcg(run, qrels, 10)
        out[name] = {
            "seconds": round(secs, 2),
            "pairs_per_s": round(out["pairs"] / secs, 2),
            "nDCG@10": sum(vals.values()) / len(vals),
        }
        del model
    out["speedup_bf16"] = round(out["float32"]["seconds"] / out["bfloat16"]["seconds"], 2)
    taus = [kendalltau(a, b).statistic for a, b in zip(scores["float32"], scores["bfloat16"], strict=True)]
    out["kendall_tau_mean"] = round(sum(taus) / len(taus), 4)
    print(json.dumps(out, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
