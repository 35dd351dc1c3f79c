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
    """Ranked doc ids per query as a TREC run (``thinkir.evals.runs``; scores are reversed ranks)."""
    from thinkir.evals.runs import write_run as write_trec

    write_trec(path, {q: [(d, float(len(ds) - i)) for i, d in enumerate(ds)] for q, ds in run.items()}, tag)


def paired_test(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """System ``a`` against ``b`` on their common queries: mean difference, paired t-test and paired
    randomization test (10,000 sign flips; the project's ``thinkir.evals.significance``)."""
    import numpy as np

    from thinkir.evals.significance import paired_t_test, randomization_test

    qs = sorted(set(a) & set(b))
    x, y = np.array([a[q] for q in qs]), np.array([b[q] for q in qs])
    return {
        "n": len(qs),
        "mean_diff": round(float((x - y).mean()), 4) if qs else 0.0,
        "p_ttest": paired_t_test(y, x),
        "p_randomization": randomization_test(y, x),
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


def read_run(path: Path) -> dict[str, list[str]]:
    """A TREC run file back into ranked doc ids per query (``thinkir.evals.runs.read_run``)."""
    from thinkir.evals.runs import read_run as read_trec

    return {q: [d for d, _ in pairs] for q, pairs in read_trec(path).items()}


def depth_for(spec: str | None, name: str) -> int | None:
    """``--depth``: one number for every dataset, or ``name=N`` pairs (``scifact=30,dl19=100``)."""
    if not spec:
        return None
    if "=" not in spec:
        return int(spec)
    pairs = dict(part.split("=", 1) for part in spec.split(","))
    return int(pairs[name]) if name in pairs else None


def load_stages(args: argparse.Namespace) -> tuple[object | None, object | None, str]:
    """The stage-1 and stage-2 rerankers asked for (one shared base model when both are) and the device."""
    from dataclasses import replace

    import torch

    from thinkir.device import torch_dtype
    from thinkir.rerank.listwise import ListwiseReranker
    from thinkir.rerank.pointwise import DearPointwiseReranker

    dtype = torch_dtype(args.dtype)
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
    pointwise = listwise = None
    if args.pointwise and args.listwise and not args.stage1_from:
        from thinkir.rerank.dear import load_dear

        dear = load_dear(
            args.pointwise, args.listwise, args.base_model, args.device, args.stage2_depth, dtype=dtype, **overrides
        )
        pointwise, listwise = dear.pointwise, dear.listwise
    else:
        if args.pointwise and not args.stage1_from:
            pointwise = DearPointwiseReranker.from_pretrained(args.pointwise, args.base_model, args.device, dtype)
        if args.listwise:
            listwise = ListwiseReranker.from_pretrained(args.listwise, args.base_model, args.device, dtype)
            if overrides:
                listwise.settings = replace(listwise.settings, **overrides)
    if pointwise is not None and args.score_batch:
        pointwise.settings = replace(pointwise.settings, batch_size=args.score_batch)
    host = (pointwise or listwise).host  # type: ignore[union-attr]
    device = torch.cuda.get_device_name(0) if host.device.startswith("cuda") else "cpu"
    return pointwise, listwise, device


def cmd_run(args: argparse.Namespace) -> None:
    import torch

    from thinkir.training.teacher import TeacherCache

    if not (args.pointwise or args.stage1_from):
        raise SystemExit("error: give --pointwise ADAPTER, or --stage1-from an earlier run's OUT")
    out = Path(args.out)
    runs_dir = Path(args.runs_dir) if args.runs_dir else out / "runs"  # only runs.tar.gz needs to be in out
    runs_dir.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    pointwise, listwise, device_name = load_stages(args)
    load_s = time.perf_counter() - t0
    prev_file = Path(args.stage1_from) / "eval_summary.json" if args.stage1_from else None
    prev = json.loads(prev_file.read_text()) if prev_file and prev_file.is_file() else {"datasets": {}}
    host = (pointwise or listwise).host  # type: ignore[union-attr]
    summary: dict = {
        "device": device_name,
        "dtype": str(host.dtype),
        "base_model": host.base_model_name,
        "listwise_settings": vars(listwise.settings) if listwise is not None else None,
        "stage2_depth": args.stage2_depth if listwise is not None else None,
        "stage1_from": args.stage1_from,
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
        depth = depth_for(args.depth, name)
        if depth:
            cands = [c[: int(depth)] for c in cands]
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
        if args.stage1_from:  # stage 1 was run before: reuse its ranking and its timings
            order = read_run(Path(args.stage1_from) / "runs" / f"{name}.stage1.trec")
            by_id = [{c.doc_id: c for c in cs} for cs in cands]
            first_lists = [[m[d] for d in order[q.id]] for q, m in zip(queries, by_id, strict=True)]
            prev_latency = prev["datasets"].get(name, {}).get("latency_ms", {})
            latency.update({k: v for k, v in prev_latency.items() if k.startswith("stage1")})
        else:  # stage 1, timed per query (one query's candidates at a time)
            first_lists, times = [], []
            for q, cs in zip(queries, cands, strict=True):
                t0 = time.perf_counter()
                first_lists.append(list(pointwise.rerank(q, cs).candidates))  # type: ignore[union-attr]
                if host.device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            latency["stage1_ms_p50"] = times[len(times) // 2]
            latency["stage1_ms_mean"] = sum(times) / len(times)
        runs["stage1"] = {q.id: [c.doc_id for c in fl] for q, fl in zip(queries, first_lists, strict=True)}
        ds: dict = {"n_queries": len(queries), "depth": len(cands[0]) if cands else 0, "metrics": {}}
        if args.max_queries:
            ds["max_queries"] = args.max_queries  # the first N test queries only
        if listwise is not None:
            ds["stage2"], latency2, runs["stage1+2"] = run_stage2(args, listwise, name, queries, first_lists)
            latency.update(latency2)
        ds["latency_ms"] = {k: round(v, 2) for k, v in latency.items()}
        per_q: dict[str, dict[str, float]] = {}
        for system, run in runs.items():
            write_run(runs_dir / f"{name}.{system.replace('+', '_')}.trec", run, system)
            for k in (10, 5):
                vals, metric_backend = per_query_ndcg(run, qrels, k)
                ds["metrics"].setdefault(system, {})[f"nDCG@{k}"] = round(sum(vals.values()) / len(vals), 4)
                if k == 10:
                    per_q[system] = vals
        sig = {"stage1_vs_bm25": paired_test(per_q["stage1"], per_q["bm25"])}
        if "teacher" in per_q:
            sig["stage1_vs_teacher"] = paired_test(per_q["stage1"], per_q["teacher"])
        if "stage1+2" in per_q:
            sig["stage1+2_vs_stage1"] = paired_test(per_q["stage1+2"], per_q["stage1"])
        ds["significance_nDCG@10"] = sig
        ds["seconds"] = round(time.perf_counter() - t_ds, 1)
        summary["datasets"][name] = ds
        (out / "eval_summary.json").write_text(json.dumps(summary, indent=2))  # after every dataset
        logger.info(
            "%s: %s",
            name,
            json.dumps(
                {
                    "metrics": ds["metrics"],
                    "stage2": ds.get("stage2", {}).get("valid_rate"),
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


def run_stage2(
    args: argparse.Namespace, listwise: object, name: str, queries: list, first_lists: list[list]
) -> tuple[dict, dict[str, float], dict[str, list[str]]]:
    """Stage 2 over each query's stage-1 head: windows batched across queries (latency amortised per query)."""
    latency: dict[str, float] = {}
    before = listwise.stats.as_dict()  # type: ignore[attr-defined]
    t0 = time.perf_counter()
    heads = [fl[: args.stage2_depth] for fl in first_lists]
    second = listwise.rerank_many(queries, heads)  # type: ignore[attr-defined]
    latency["stage2_ms_per_query_batched"] = (time.perf_counter() - t0) * 1000 / len(queries)
    run = {
        r2.query.id: r2.doc_ids() + [c.doc_id for c in fl[args.stage2_depth :]]
        for r2, fl in zip(second, first_lists, strict=True)
    }
    after = listwise.stats.as_dict()  # type: ignore[attr-defined]
    windows = after["windows"] - before["windows"]
    valid = after["valid"] - before["valid"]
    if args.latency_queries and name == args.datasets.split(",")[0]:  # unbatched, first dataset only
        t0 = time.perf_counter()
        for q, h in list(zip(queries, heads, strict=True))[: args.latency_queries]:
            listwise.rerank(q, h)  # type: ignore[attr-defined]
        latency["stage2_ms_single_query"] = (time.perf_counter() - t0) * 1000 / args.latency_queries
    stage2 = {
        "windows": windows,
        "valid_rate": round(valid / windows, 4) if windows else None,
        "parse_failures": after["failures"] - before["failures"],
        "forced": after["forced"] - before["forced"],  # reasoning hit max_new_tokens: </think> appended
        "valid_rate_unforced": round((valid - (after["forced_valid"] - before["forced_valid"])) / windows, 4)
        if windows
        else None,
        "example_rationale": (second[0].trace.rationale or "")[:300] if second else "",
    }
    return stage2, latency, run


def main(argv: list[str] | None = None) -> None:
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
    r.add_argument("--pointwise", default=None, help="stage-1 adapter (path or id)")
    r.add_argument("--listwise", default=None, help="stage-2 adapter; without it stage 2 is skipped")
    r.add_argument("--stage1-from", default=None, help="OUT of an earlier run: reuse its stage-1 rankings")
    r.add_argument("--dtype", default=None, help="model dtype, e.g. bfloat16 (default: fp32 on CPU)")
    r.add_argument("--base-model", default=None)
    r.add_argument("--device", default=None)
    r.add_argument("--teacher", default="minilm")
    r.add_argument("--teacher-path", default=None, help="teacher weights folder (cache keys stay --teacher)")
    r.add_argument("--datasets", default="dl19,covid,scifact")
    r.add_argument("--max-queries", type=int, default=None, help="tiny smoke runs only")
    r.add_argument("--depth", default=None, help="cut the first stage per dataset, e.g. scifact=30")
    r.add_argument("--stage2-depth", type=int, default=30)
    r.add_argument("--window", type=int, default=None)
    r.add_argument("--step", type=int, default=None)
    r.add_argument("--max-new-tokens", type=int, default=None)
    r.add_argument("--gen-batch", type=int, default=None)
    r.add_argument("--score-batch", type=int, default=None)
    r.add_argument("--latency-queries", type=int, default=2)
    r.set_defaults(func=cmd_run)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
