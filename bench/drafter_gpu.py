"""The drafter on a GPU: bf16, batches of 1 to 64, throughput and latency (about 5 minutes on one GPU).

    python bench/drafter_gpu.py --model DIR [--device cuda] [--new-tokens 64] [--seconds 20]
    python bench/drafter_gpu.py --t5-scratch ...               # no trained drafter at hand: same shapes
    python bench/drafter_gpu.py --warm-start ENCODER_DIR ...

Speed does not depend on what the weights learned, so `--t5-scratch` (the default architecture) and
`--warm-start` (the encoder on both sides, vocabulary cut to the sample shop's pieces) build the
drafter's architecture, untrained, instead of loading a trained one. Inputs are the sample shop's questions with three retrieved-length answers, the
drafter's own input format. Every decode runs exactly `--new-tokens` tokens (end-of-sequence ignored),
so batch sizes compare fairly. Prints one JSON object; figures in bench/README.md when a GPU was lent.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def sample_inputs(n: int) -> list[str]:
    from assistant.drafter import drafter_input
    from retrieval.knowledge import load_knowledge

    faq = list(load_knowledge(REPO / "knowledge").faq)
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        entry = faq[i % len(faq)]
        others = [faq[j].answer for j in rng.choice(len(faq), 3, replace=False)]
        out.append(drafter_input(entry.question, entry.intent, "neutral", others))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", type=Path, help="a drafter folder (assistant train drafter)")
    source.add_argument("--warm-start", type=Path, help="an encoder folder to build the architecture from")
    source.add_argument("--t5-scratch", action="store_true", help="build the small T5 the default training builds")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20.0, help="time per batch size")
    parser.add_argument("--batches", default="1,8,32,64")
    opts = parser.parse_args()

    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    if opts.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no GPU visible to torch: install a CUDA build (see DEVELOPERS.md) or use --device cpu")
    started = time.perf_counter()
    if opts.warm_start or opts.t5_scratch:
        from finetune.args import DrafterTrainingArgs
        from finetune.seq2seq import build_model

        folder = Path(tempfile.mkdtemp(prefix="drafter-gpu-"))
        architecture = "warm-start" if opts.warm_start else "t5-scratch"
        model, tokenizer = build_model(opts.warm_start, sample_inputs(2000), DrafterTrainingArgs(architecture=architecture),
                                       folder)
    else:
        tokenizer = AutoTokenizer.from_pretrained(opts.model, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(opts.model, local_files_only=True)
    dtype = torch.bfloat16 if opts.device.startswith("cuda") else torch.float32
    model = model.to(opts.device, dtype=dtype).eval()
    inputs = sample_inputs(256)
    result = {"device": torch.cuda.get_device_name() if opts.device.startswith("cuda") else "cpu",
              "dtype": str(dtype).replace("torch.", ""), "new_tokens": opts.new_tokens,
              "vocabulary": len(tokenizer), "load_seconds": round(time.perf_counter() - started, 1),
              "batches": {}}

    def decode(batch: list[str]) -> None:
        encoded = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=256).to(opts.device)
        with torch.inference_mode():
            model.generate(**encoded, max_new_tokens=opts.new_tokens, min_new_tokens=opts.new_tokens,
                           num_beams=1, do_sample=False)
        if opts.device.startswith("cuda"):
            torch.cuda.synchronize()

    for size in (int(b) for b in opts.batches.split(",")):
        decode(inputs[:size])  # warm-up: kernels, allocator
        latencies, replies, spent, i = [], 0, 0.0, 0
        while spent < opts.seconds:
            batch = [inputs[(i + k) % len(inputs)] for k in range(size)]
            t0 = time.perf_counter()
            decode(batch)
            latencies.append(1000 * (time.perf_counter() - t0))
            spent += latencies[-1] / 1000
            replies += size
            i += size
        result["batches"][size] = {"p50_ms": round(float(np.percentile(latencies, 50)), 1),
                                   "replies_per_s": round(replies / spent, 1),
                                   "tokens_per_s": round(replies * opts.new_tokens / spent)}
    if opts.device.startswith("cuda"):
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
