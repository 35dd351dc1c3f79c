"""fp32 vs bf16 autocast on the CPU (the trainers' ``cpu_bf16``), in one run: SmolLM2-135M forward tokens/s.

    python benchmarks/bench_cpu_bf16.py [--llm smollm2-135m] [--batch 32] [--length 64] [--repeats 3]

Prints one JSON line with both throughputs and their ratio (bf16 / fp32). The ratio is what matters:
the absolute numbers move with the machine's load. Fast bf16 needs AVX512-BF16 or AMX
(``lscpu | grep -o 'avx512_bf16\\|amx_bf16'``); without them autocast can be slower than fp32.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from thinkir.models import resolve
    from thinkir.training.loop import autocast_for

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--llm", default="smollm2-135m")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    model = AutoModelForCausalLM.from_pretrained(resolve(args.llm, "llm"), dtype=torch.float32).eval()
    ids = torch.randint(100, 40_000, (args.batch, args.length), generator=torch.Generator().manual_seed(0))
    tokens = args.batch * args.length
    best: dict[str, float] = {}
    with torch.inference_mode():
        for name, bf16 in (("fp32", False), ("bf16_autocast", True)):
            with autocast_for("cpu", cpu_bf16=bf16):
                model.model(input_ids=ids)  # warm-up
                times = []
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    model.model(input_ids=ids)
                    times.append(time.perf_counter() - t0)
            best[name] = tokens / min(times)
    print(
        json.dumps(
            {
                "llm": args.llm,
                "threads": torch.get_num_threads(),
                "tokens_per_s": {k: round(v, 1) for k, v in best.items()},
                "ratio_bf16_over_fp32": round(best["bf16_autocast"] / best["fp32"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
