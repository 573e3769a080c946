"""The fine-tuned classifier on public data, side by side with TF-IDF + linear SVM in the same run.

    python bench/classifier.py banking77 [--encoder minilm|e5|PATH] [--few-shot 8] [--epochs 5] [--out DIR]
    python bench/classifier.py clinc150
    python bench/classifier.py shopping --encoder e5 --max-length 128 --max-train 16000

Data from ../shared/data (never copied here): BANKING77 (test accuracy; dev is a stratified 10% of
train), CLINC150 data_full (its own val split as dev; in-scope accuracy and out-of-scope recall on
test), online_shopping_10_cats (sentiment, random 80/20 split with seed 0, accuracy per category).
Prints one JSON object per line: the baseline, our classifier (fp32 and int8 inference) and, where
asked, the head-only mode.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from finetune.args import ClassifierTrainingArgs
from finetune.classifier import classification_scores, train_classifier
from finetune.data import Example, per_label_sample, read_labelled
from finetune.evaluate import evaluate_classifier

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(name: str, seed: int = 0) -> tuple[list[Example], list[Example], list[Example], str]:
    """(train, dev or [], test, head) of a public data set."""
    if name == "banking77":
        train = read_labelled(SHARED / "banking77" / "train.csv").train
        return train, [], read_labelled(SHARED / "banking77" / "test.csv").train, "intent"
    if name == "clinc150":
        data = read_labelled(SHARED / "clinc150" / "data_full.json")
        return data.train, data.dev, data.test, "intent"
    if name == "shopping":
        with zipfile.ZipFile(SHARED / "online_shopping_10_cats" / "online_shopping_10_cats.zip") as archive:
            text = archive.read("online_shopping_10_cats.csv").decode("utf-8-sig")
        rows = [r for r in csv.DictReader(io.StringIO(text)) if (r.get("review") or "").strip()]
        examples = [Example(r["review"].strip(), (("sentiment", "positive" if r["label"] == "1" else "negative"),
                                                  ("category", r["cat"]))) for r in rows]
        order = np.random.default_rng(seed).permutation(len(examples))
        cut = int(0.8 * len(examples))
        return [examples[i] for i in order[:cut]], [], [examples[i] for i in order[cut:]], "sentiment"
    raise SystemExit(f"unknown data set {name!r}: banking77, clinc150 or shopping")


def only(examples: list[Example], head: str) -> list[Example]:
    return [Example(e.text, ((head, e.label(head)),)) for e in examples]


def tfidf_baseline(train: list[Example], test: list[Example], head: str, chars: bool) -> dict:
    started = time.perf_counter()
    vectorizer = (TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True) if chars
                  else TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True))
    model = LinearSVC(C=1.0).fit(vectorizer.fit_transform([e.text for e in train]), [e.label(head) for e in train])
    predicted = list(model.predict(vectorizer.transform([e.text for e in test])))
    return classification_scores([e.label(head) for e in test], predicted) | {
        "method": "tfidf+linearsvc", "train_seconds": round(time.perf_counter() - started, 1)}


def encoder_path(spec: str) -> Path:
    if spec == "minilm":
        from assistant.models import minilm_path
        return minilm_path()
    if spec == "e5":
        from assistant.models import multilingual_encoder_path
        from assistant.settings import Settings
        return multilingual_encoder_path(Settings())
    return Path(spec)


def per_category(folder: Path, test: list[Example]) -> dict:
    """Sentiment accuracy per product category (online_shopping_10_cats)."""
    from assistant.classifier import TextClassifier

    predicted = TextClassifier(folder).predict([e.text for e in test]).predicted("sentiment")
    out = {}
    for category in sorted({e.label("category") for e in test}):
        rows = [i for i, e in enumerate(test) if e.label("category") == category]
        out[category] = {"n": len(rows), "accuracy": round(float(np.mean(
            [predicted[i] == test[i].label("sentiment") for i in rows])), 4)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=["banking77", "clinc150", "shopping"])
    parser.add_argument("--encoder", default="minilm", help="minilm, e5 or a Hugging Face encoder folder")
    parser.add_argument("--mode", default="finetune", choices=["finetune", "lora", "head"])
    parser.add_argument("--few-shot", type=int, default=0, help="train on this many examples per label")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--max-train", type=int, default=0, help="fine-tune on at most this many texts")
    parser.add_argument("--no-lexical", action="store_true", help="without the character n-gram head")
    parser.add_argument("--ensemble", type=int, default=1, help="members of a seed ensemble")
    parser.add_argument("--bootstrap-max", type=int, default=20000, help="texts embedded for the warm start")
    parser.add_argument("--out", type=Path, default=None, help="keep the model and its report here")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is missing: the public data sets live there")

    train, dev, test, head = load(options.dataset)
    if options.few_shot:
        train = per_label_sample(train, head, options.few_shot, options.seed)
    base = {"dataset": options.dataset, "few_shot": options.few_shot, "n_train": len(train), "n_test": len(test)}
    print(json.dumps(base | tfidf_baseline(train, test, head, chars=options.dataset == "shopping")), flush=True)

    args = ClassifierTrainingArgs(mode=options.mode, epochs=options.epochs, max_length=options.max_length,
                                  max_train_examples=options.max_train, lexical=not options.no_lexical,
                                  seed=options.seed, ensemble=options.ensemble,
                                  bootstrap_max_examples=options.bootstrap_max)
    out = options.out or Path(tempfile.mkdtemp(prefix=f"bench-{options.dataset}-"))
    started = time.perf_counter()
    metrics = train_classifier(only(train, head), encoder_path(options.encoder), out, dev=only(dev, head) or None,
                               args=args, log=lambda m: print(m, file=sys.stderr), progress=False)
    train_seconds = time.perf_counter() - started
    name = f"ours ({options.mode}, {options.encoder}" + (f", ensemble of {options.ensemble})" if options.ensemble > 1 else ")")
    epochs = [m["epochs"] for m in metrics["members"]] if "members" in metrics else metrics["epochs"]
    ours = {"method": name, "train_seconds": round(train_seconds, 1), "dev": metrics["dev"], "epochs": epochs,
            "model": str(out)}
    print(json.dumps(base | ours | evaluate_classifier(out, only(test, head), head, report_dir=out)), flush=True)
    print(json.dumps(base | {"method": ours["method"] + " int8"} | evaluate_classifier(out, only(test, head), head, int8=True)),
          flush=True)
    if options.dataset == "shopping":
        print(json.dumps(base | {"per_category": per_category(out, test)}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
