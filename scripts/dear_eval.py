"""Evaluate the DeAR stages (and prepare the caches a GPU run needs).

    python scripts/dear_eval.py prep --data ../shared/data --cache .device/data/cache \
        --pointwise-config configs/dear_pointwise_gpu.json      # CPU: SciFact BM25 ids [+ --teacher minilm]
    python scripts/dear_eval.py run --data DATA --cache DATA/cache --pointwise ADAPTER --listwise ADAPTER \
        --out OUT                                                  # BM25, teacher, stage 1, stage 1+2

Datasets: TREC DL19 (BM25 top-100), TREC-COVID (BM25 top-20), SciFact test (bm25s top-100). Only
test queries are *evaluated* here; nothing is trained or tuned on them. Metrics by ir_measures when it
is installed (else the same nDCG formula in plain Python, flagged in the summary).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thinkir.types import Candidate, Document, Query  # noqa: E402

logger = logging.getLogger("dear_eval")
SYSTEMS = ("bm25", "teacher", "stage1", "stage1+2")


# -- data ---------------------------------------------------------------------------------------------
def read_trec_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4:
            qrels[parts[0]][parts[2]] = int(parts[3])
    return dict(qrels)


def load_dataset(
    name: str, data: Path, cache: Path, depth: int | None
) -> tuple[list[Query], list[list[Candidate]], dict[str, dict[str, int]]]:
    """Queries, first-stage candidates (BM25 order, with texts) and qrels of one test set."""
    queries, cands = [], []
    if name == "dl19":
        qrels = read_trec_qrels(data / "trec-dl19" / "qrels.txt")
        for row in json.loads((data / "trec-dl19" / "bm25_top100.json").read_text()):
            hits = row["hits"]
            qid = str(hits[0]["qid"])
            queries.append(Query(qid, row["query"]))
            cands.append(
                [Candidate(str(h["docid"]), float(h["score"]), Document(str(h["docid"]), h["content"])) for h in hits]
            )
    elif name == "covid":
        qrels = read_trec_qrels(data / "trec-covid" / "qrels.txt")
        for row in json.loads((data / "trec-covid" / "bm25_top20.json").read_text()):
            queries.append(Query(str(row["query_id"]), row["query"]))
            n = len(row["hits"])
            cands.append(
                [
                    Candidate(str(h["docid"]), float(n - i), Document(str(h["docid"]), h["content"]))
                    for i, h in enumerate(row["hits"])
                ]
            )
    elif name == "scifact":
        from thinkir.training.data_rerank import bm25_candidates, read_beir_corpus, read_beir_qrels, read_beir_queries

        sf = data / "scifact"
        qrels = read_beir_qrels(sf / "qrels" / "test.tsv")
        corpus, texts = read_beir_corpus(sf), read_beir_queries(sf)
        ids = bm25_candidates(sf, "test", 100, cache / "scifact-test-bm25.json")
        for qid in sorted(ids, key=int):
            queries.append(Query(qid, texts[qid]))
            n = len(ids[qid])
            cands.append([Candidate(d, float(n - i), corpus[d]) for i, d in enumerate(ids[qid])])
    else:
        raise ValueError(name)
    keep = [i for i, q in enumerate(queries) if q.id in qrels]
    queries, cands = [queries[i] for i in keep], [cands[i][:depth] if depth else cands[i] for i in keep]
    return queries, cands, qrels


# -- metrics ------------------------------------------------------------------------------------------
def ndcg_plain(ranked: list[str], rels: dict[str, int], k: int) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if rels.get(d, 0) > 0)
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def per_query_ndcg(run: dict[str, list[str]], qrels: dict[str, dict[str, int]], k: int) -> tuple[dict[str, float], str]:
    """Per-query nDCG@k (ir_measures when installed, else the plain formula)."""
    try:
        import ir_measures

        measure = ir_measures.parse_measure(f"nDCG@{k}")
        scored = {q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in run.items()}
        out = {m.query_id: float(m.value) for m in ir_measures.iter_calc([measure], qrels, scored)}
        return {q: out.get(q, 0.0) for q in run}, "ir_measures"
    except ImportError:
        return {q: ndcg_plain(ds, qrels.get(q, {}), k) for q, ds in run.items()}, "plain-python"


def write_run(path: Path, run: dict[str, list[str]], tag: str) -> None:
    with path.open("w") as fh:
        for q, ds in run.items():
            for i, d in enumerate(ds):
                fh.write(f"{q} Q0 {d} {i + 1} {len(ds) - i} {tag}\n")


def paired_test(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    from scipy import stats

    qs = sorted(set(a) & set(b))
    x, y = [a[q] for q in qs], [b[q] for q in qs]
    if len(qs) < 2 or x == y:
        return {"n": len(qs), "p_ttest": 1.0}
    return {
        "n": len(qs),
        "mean_diff": round(sum(xi - yi for xi, yi in zip(x, y, strict=True)) / len(qs), 4),
        "p_ttest": float(stats.ttest_rel(x, y).pvalue),
    }


# -- commands -----------------------------------------------------------------------------------------
def cmd_prep(args: argparse.Namespace) -> None:
    """CPU side: bm25s candidate ids (SciFact test, mined train negatives); teacher scores if asked."""
    from thinkir.training import load_config
    from thinkir.training.pointwise import PointwiseTrainConfig, build_groups
    from thinkir.training.teacher import TeacherCache

    cache = Path(args.cache)
    cfg = load_config(PointwiseTrainConfig, args.pointwise_config)
    cfg.cache_dir = str(cache)
    for attr, sub in (("triples", "msmarco/triples.jsonl"), ("scifact_dir", "scifact")):
        if getattr(cfg, attr):
            setattr(cfg, attr, str(Path(args.data) / sub))
    cfg.reasoning_dirs = [str(Path(args.data) / "reasoning" / Path(d).name) for d in cfg.reasoning_dirs]
    groups = build_groups(cfg)  # mines and caches the SciFact train negatives
    load_dataset("scifact", Path(args.data), cache, None)  # caches the SciFact test BM25 ids
    if not args.teacher:
        print(json.dumps({"cache": str(cache), "files": sorted(p.name for p in cache.iterdir())}))  # noqa: T201
        return
    tc = TeacherCache(cache, args.teacher)
    t0 = time.perf_counter()
    tc.lookup([g.query for g in groups], [g.docs for g in groups], progress=True)
    logger.info("teacher scores for %d training groups in %.0fs", len(groups), time.perf_counter() - t0)
    for name in ("dl19", "covid", "scifact"):
        queries, cands, _ = load_dataset(name, Path(args.data), cache, None)
        t0 = time.perf_counter()
        tc.lookup([q.text for q in queries], [[c.document for c in cs] for cs in cands], progress=True)
        logger.info("teacher scores for %s in %.0fs", name, time.perf_counter() - t0)
    print(json.dumps({"cache": str(cache), "files": sorted(p.name for p in cache.iterdir())}))  # noqa: T201


def cmd_run(args: argparse.Namespace) -> None:
    import torch

    from thinkir.rerank.dear import load_dear
    from thinkir.training.teacher import TeacherCache

    out = Path(args.out)
    runs_dir = Path(args.runs_dir) if args.runs_dir else out / "runs"  # only runs.tar.gz needs to be in out
    runs_dir.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    overrides = {
        k: v
        for k, v in {
            "window_size": args.window,
            "step": args.step,
            "max_new_tokens": args.max_new_tokens,
            "batch_size": args.gen_batch,
        }.items()
        if v
    }
    t0 = time.perf_counter()
    dear = load_dear(args.pointwise, args.listwise, args.base_model, args.device, args.stage2_depth, **overrides)
    if args.score_batch:
        from dataclasses import replace

        dear.pointwise.settings = replace(dear.pointwise.settings, batch_size=args.score_batch)
    load_s = time.perf_counter() - t0
    device_name = torch.cuda.get_device_name(0) if dear.pointwise.host.device.startswith("cuda") else "cpu"
    summary: dict = {
        "device": device_name,
        "base_model": dear.pointwise.host.base_model_name,
        "listwise_settings": vars(dear.listwise.settings)
        if hasattr(dear.listwise.settings, "__dict__")
        else str(dear.listwise.settings),
        "stage2_depth": args.stage2_depth,
        "load_seconds": round(load_s, 1),
        "datasets": {},
    }
    teacher = TeacherCache(Path(args.cache), args.teacher, path=args.teacher_path) if args.teacher else None
    metric_backend = "?"
    for name in args.datasets.split(","):
        t_ds = time.perf_counter()
        queries, cands, qrels = load_dataset(name, Path(args.data), Path(args.cache), None)
        if args.max_queries:
            queries, cands = queries[: args.max_queries], cands[: args.max_queries]
        if args.depth:
            cands = [c[: args.depth] for c in cands]
        runs: dict[str, dict[str, list[str]]] = {
            "bm25": {q.id: [c.doc_id for c in cs] for q, cs in zip(queries, cands, strict=True)}
        }
        latency: dict[str, float] = {}
        if teacher is not None:
            try:
                t0 = time.perf_counter()
                scores = teacher.lookup([q.text for q in queries], [[c.document for c in cs] for cs in cands])
                runs["teacher"] = {
                    q.id: [c.doc_id for _, c in sorted(zip(s, cs, strict=True), key=lambda p: -p[0])]
                    for q, s, cs in zip(queries, scores, cands, strict=True)
                }
                latency["teacher_ms_per_query"] = (time.perf_counter() - t0) * 1000 / len(queries)
            except (ImportError, OSError, ValueError, KeyError, RuntimeError) as err:  # no teacher model here
                logger.warning("teacher unavailable for %s: %s", name, err)
        # stage 1, timed per query (one query's candidates at a time)
        first, times = [], []
        for q, cs in zip(queries, cands, strict=True):
            t0 = time.perf_counter()
            first.append(dear.pointwise.rerank(q, cs))
            if dear.pointwise.host.device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
        runs["stage1"] = {r.query.id: r.doc_ids() for r in first}
        times.sort()
        latency["stage1_ms_p50"] = times[len(times) // 2]
        latency["stage1_ms_mean"] = sum(times) / len(times)
        # stage 2, windows batched across queries (latency amortised per query)
        before = dear.listwise.stats.as_dict()
        t0 = time.perf_counter()
        heads = [list(r.candidates[: args.stage2_depth]) for r in first]
        second = dear.listwise.rerank_many(queries, heads)
        latency["stage2_ms_per_query_batched"] = (time.perf_counter() - t0) * 1000 / len(queries)
        runs["stage1+2"] = {
            r2.query.id: r2.doc_ids() + r1.doc_ids()[args.stage2_depth :] for r1, r2 in zip(first, second, strict=True)
        }
        after = dear.listwise.stats.as_dict()
        windows = after["windows"] - before["windows"]
        valid = after["valid"] - before["valid"]
        if args.latency_queries and name == args.datasets.split(",")[0]:  # unbatched, first dataset only
            t0 = time.perf_counter()
            for q, h in list(zip(queries, heads, strict=True))[: args.latency_queries]:
                dear.listwise.rerank(q, h)
            latency["stage2_ms_single_query"] = (time.perf_counter() - t0) * 1000 / args.latency_queries
        ds: dict = {
            "n_queries": len(queries),
            "depth": len(cands[0]) if cands else 0,
            "metrics": {},
            "stage2": {
                "windows": windows,
                "valid_rate": round(valid / windows, 4) if windows else None,
                "parse_failures": after["failures"] - before["failures"],
                "example_rationale": (second[0].trace.rationale or "")[:300] if second else "",
            },
            "latency_ms": {k: round(v, 2) for k, v in latency.items()},
        }
        per_q: dict[str, dict[str, float]] = {}
        for system, run in runs.items():
            write_run(runs_dir / f"{name}.{system.replace('+', '_')}.trec", run, system)
            for k in (10, 5):
                vals, metric_backend = per_query_ndcg(run, qrels, k)
                ds["metrics"].setdefault(system, {})[f"nDCG@{k}"] = round(sum(vals.values()) / len(vals), 4)
                if k == 10:
                    per_q[system] = vals
        ds["significance_nDCG@10"] = {
            "stage1_vs_bm25": paired_test(per_q["stage1"], per_q["bm25"]),
            "stage1+2_vs_stage1": paired_test(per_q["stage1+2"], per_q["stage1"]),
            **({"stage1_vs_teacher": paired_test(per_q["stage1"], per_q["teacher"])} if "teacher" in per_q else {}),
        }
        ds["seconds"] = round(time.perf_counter() - t_ds, 1)
        summary["datasets"][name] = ds
        logger.info(
            "%s: %s",
            name,
            json.dumps(
                {
                    "metrics": ds["metrics"],
                    "stage2": ds["stage2"]["valid_rate"],
                    "latency": ds["latency_ms"],
                    "seconds": ds["seconds"],
                }
            ),
        )
    summary["metric_backend"] = metric_backend
    summary["total_seconds"] = round(time.perf_counter() - t_all, 1)
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        tar.add(runs_dir, arcname="runs")
    (out / "eval_summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({n: d["metrics"] for n, d in summary["datasets"].items()}))  # noqa: T201


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prep")
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--cache", default=".device/data/cache")
    p.add_argument("--pointwise-config", default="configs/dear_pointwise_gpu.json")
    p.add_argument("--teacher", default=None, help="also cache this teacher's scores (slow on a busy CPU)")
    p.set_defaults(func=cmd_prep)
    r = sub.add_parser("run")
    r.add_argument("--data", required=True)
    r.add_argument("--cache", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--runs-dir", default=None, help="where the .trec run files go [OUT/runs]")
    r.add_argument("--pointwise", required=True)
    r.add_argument("--listwise", required=True)
    r.add_argument("--base-model", default=None)
    r.add_argument("--device", default=None)
    r.add_argument("--teacher", default="minilm")
    r.add_argument("--teacher-path", default=None, help="teacher weights folder (cache keys stay --teacher)")
    r.add_argument("--datasets", default="dl19,covid,scifact")
    r.add_argument("--max-queries", type=int, default=None, help="tiny smoke runs only")
    r.add_argument("--depth", type=int, default=None, help="cut the first stage (tiny smoke runs only)")
    r.add_argument("--stage2-depth", type=int, default=30)
    r.add_argument("--window", type=int, default=None)
    r.add_argument("--step", type=int, default=None)
    r.add_argument("--max-new-tokens", type=int, default=None)
    r.add_argument("--gen-batch", type=int, default=None)
    r.add_argument("--score-batch", type=int, default=None)
    r.add_argument("--latency-queries", type=int, default=2)
    r.set_defaults(func=cmd_run)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
