"""Train the intent and sentiment classifier: warm-started heads, then the encoder, then calibration on dev.

The recipe (FINDINGS.md, measured on a 2-core CPU): a naive fine-tune of a small encoder loses to a
logistic regression over its frozen sentence vectors; warm-starting the heads from that regression and
then fine-tuning gently (small encoder learning rate, warmup and linear decay, label smoothing,
length-bucketed batches) beats both. A character n-gram head is joined to it on dev, temperature
scaling calibrates it, and an out-of-scope rule is chosen on dev.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from assistant.classifier import (CONFIG_FILE, ENCODER_FILE, FORMAT, HEADS_FILE, OOS_LABELS, TextClassifier,
                                  combine, joined_logits, out_of_scope_flags)
from assistant.classifier_model import (WORD_EMBEDDINGS, build_model, collate, fingerprint, load_encoder, run_model,
                                        text_prefix, tokenize)
from finetune.args import ClassifierTrainingArgs
from finetune.calibration import choose_lexical_weight, choose_oos_rule, fit_mahalanobis, fit_temperature
from finetune.data import Example, data_hash, label_counts, stratified_split
from retrieval.errors import KnowledgeError
from retrieval.lexical import hashed_idf, hashed_tfidf

Log = Callable[[str], None]


def _fit_linear(features, labels: np.ndarray, n_classes: int, c: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression as (weight, bias) over all `n_classes` (absent classes get -inf bias)."""
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    model.fit(features, labels)
    weight = np.zeros((n_classes, features.shape[1]), np.float32)
    bias = np.full(n_classes, -30.0, np.float32)  # a class the sample lacks stays improbable until trained
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one row; softmax over [0, z] gives the same probabilities
        coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, intercept[0]])
    weight[model.classes_] = coef
    bias[model.classes_] = intercept
    return weight, bias


def _stratified_sample(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices: all rows, or about `n` of them with every label's share kept (at least one each)."""
    if len(y) <= n:
        return np.arange(len(y))
    picked = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        picked.extend(rng.permutation(rows)[:max(1, int(round(n * len(rows) / len(y))))].tolist())
    return np.sort(np.array(picked))


def _class_weights(y: np.ndarray, n_classes: int, how: str):
    import torch

    counts = np.bincount(y[y >= 0], minlength=n_classes).astype(np.float64)
    present = counts > 0
    if how == "none" or (how == "auto" and counts[present].max() <= 3 * counts[present].min()):
        return None
    power = 0.5 if how == "auto" else 1.0
    weights = np.where(present, (counts.max() / np.maximum(counts, 1)) ** power, 0.0)
    return torch.tensor(weights / weights[present].mean(), dtype=torch.float32)


def length_batches(lengths: list[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: sorted inside chunks of 50 batches, then the batches shuffled."""
    order = rng.permutation(len(lengths))
    chunk = batch_size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = order[start:start + chunk]
        part = part[np.argsort([lengths[i] for i in part], kind="stable")]
        batches.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def linear_schedule(total_steps: int, warmup_fraction: float):
    warmup = max(1, int(total_steps * warmup_fraction))
    return lambda step: (step + 1) / warmup if step < warmup else max(0.0, (total_steps - step) / max(1, total_steps - warmup))


def _macro_f1(truth: np.ndarray, logits: np.ndarray) -> float:
    keep = truth >= 0
    return float(f1_score(truth[keep], logits[keep].argmax(1), average="macro")) if keep.any() else 0.0


def train_classifier(train: list[Example], encoder_path: Path, out: Path, *, dev: list[Example] | None = None,
                     args: ClassifierTrainingArgs | None = None, log: Log = print, progress: bool = True) -> dict:
    """Train on `train` (heads: the label kinds the examples carry), calibrate on `dev`, save in `out`.

    Without `dev`, a stratified `args.dev_fraction` of `train` becomes dev. Returns the dev metrics,
    also saved in `out/classifier.json` with the labels, arguments and data hash. With
    `args.ensemble > 1`, trains that many members (seeds `seed`, `seed + 1`, ...) into `out/member-K`.
    """
    args = args or ClassifierTrainingArgs()
    if args.ensemble == 1:
        return _train_one(train, encoder_path, out, dev, args, log, progress)
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names, results = [], []
    for k in range(args.ensemble):
        log(f"Ensemble member {k + 1} of {args.ensemble} (seed {args.seed + k}) ...")
        names.append(f"member-{k}")
        results.append(_train_one(train, encoder_path, out / names[-1], dev,
                                  replace(args, seed=args.seed + k, ensemble=1), log, progress))
    first = json.loads((out / names[0] / CONFIG_FILE).read_text(encoding="utf-8"))
    mean_dev = {h: {k: round(float(np.mean([r["dev"][h][k] for r in results])), 4) for k in scores}
                for h, scores in results[0]["dev"].items()}
    metrics = {"dev": mean_dev, "dev_is": "the mean of the members' dev scores", "members": results,
               "n_train": len(train), "n_dev": results[0]["n_dev"],
               "train_seconds": round(time.perf_counter() - started, 1)}
    config = {"format": FORMAT, "mode": args.mode, "members": names, "encoder_name": first["encoder_name"],
              "heads": {h: {"labels": head["labels"]} for h, head in first["heads"].items()},
              "oos": {"method": "vote"}, "data_hash": data_hash(train), "args": args.to_dict(), "metrics": metrics}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    if dev and "intent" in config["heads"] and any(e.label("intent") in OOS_LABELS for e in list(train) + list(dev)):
        calibrate_ensemble(out, dev, args.oos_max_inscope_loss, log)
    return metrics


def calibrate_ensemble(folder: Path, dev: list[Example], max_loss: float, log: Log = print) -> dict:
    """Choose an ensemble's out-of-scope threshold on the members' averaged probabilities over a shared dev set.

    Without a shared dev set (each member held out its own rows) the members vote instead.
    """
    folder = Path(folder)
    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    labels = config["heads"]["intent"]["labels"]
    config["oos"] = {"method": "none"}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    rows = [e for e in dev if e.label("intent") is not None]
    probs = TextClassifier(folder).predict([e.text for e in rows]).probs["intent"]
    truth = np.array([labels.index(e.label("intent")) if e.label("intent") in labels else -1 for e in rows])
    is_oos = np.array([e.label("intent") in OOS_LABELS for e in rows])
    oos_class = np.array([name in OOS_LABELS for name in labels])
    # No Mahalanobis statistics for an ensemble: the rule is the top averaged probability.
    config["oos"] = choose_oos_rule(probs, None, {}, truth, is_oos, oos_class, max_loss)
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"Ensemble out-of-scope rule: msp above {config['oos']['threshold']:.4g} "
        f"(dev out-of-scope recall {config['oos']['dev_oos_recall']:.3f})")
    return config["oos"]


def _train_one(train: list[Example], encoder_path: Path, out: Path, dev: list[Example] | None,
               args: ClassifierTrainingArgs, log: Log, progress: bool) -> dict:
    import torch
    from safetensors.torch import save_file

    started = time.perf_counter()
    all_hash = data_hash(train)
    heads = sorted({name for e in train for name, _ in e.labels}, key=lambda h: (h != "intent", h))
    if not heads:
        raise KnowledgeError("no labelled training examples: give a file with a text and a label per row")
    primary = heads[0]
    # Labels come from the whole training set, before any dev split: every member of an ensemble agrees.
    labels = {h: sorted(label_counts(train, h)) for h in heads}
    for h in heads:
        if len(labels[h]) < 2:
            raise KnowledgeError(f"the {h} labels need at least two classes, found {labels[h]}: add examples "
                                 "of the other classes")
    if not dev:
        train, dev = stratified_split(train, primary, args.dev_fraction, args.seed)
        seen = {e.text.strip().lower() for e in train}
        repeats = [e for e in dev if e.text.strip().lower() in seen]
        if repeats and len(repeats) < len(dev):
            # A dev row that repeats a training text measures memory, not generalisation.
            dev = [e for e in dev if e.text.strip().lower() not in seen]
            log(f"Left {len(repeats)} dev rows out that repeat a training text")
    y = {h: np.array([labels[h].index(e.label(h)) if e.label(h) in labels[h] else -100 for e in train]) for h in heads}
    y_dev = {h: np.array([labels[h].index(e.label(h)) if e.label(h) in labels[h] else -100 for e in dev]) for h in heads}
    log(f"Training on {len(train)} examples, dev {len(dev)}; heads: "
        + ", ".join(f"{h} ({len(labels[h])} classes)" for h in heads))

    tokenizer, encoder = load_encoder(Path(encoder_path))
    prefix = text_prefix(Path(encoder_path))
    model = build_model(encoder, {h: len(labels[h]) for h in heads}, args.dropout)
    torch.manual_seed(args.seed)  # dropout, LoRA initialisation
    pad = tokenizer.pad_token_id
    ids = tokenize(tokenizer, [e.text for e in train], prefix, args.max_length)
    dev_ids = tokenize(tokenizer, [e.text for e in dev], prefix, args.max_length)
    rng = np.random.default_rng(args.seed)

    # 1. Warm start: logistic regression on the frozen sentence vectors of (a sample of) the training set.
    sample = _stratified_sample(y[primary], args.bootstrap_max_examples, rng)
    log(f"Warm start: embedding {len(sample)} training texts with the frozen encoder ...")
    pooled, _ = run_model(model, [ids[i] for i in sample], pad, bf16=args.bf16, progress=progress, desc="warm start")
    for h in heads:
        rows = sample[y[h][sample] >= 0]
        weight, bias = _fit_linear(pooled[np.isin(sample, rows)], y[h][rows], len(labels[h]), args.bootstrap_c, args.seed)
        model.heads[h].weight.data = torch.from_numpy(weight)
        model.heads[h].bias.data = torch.from_numpy(bias)

    # 2. Fine-tune the encoder (or LoRA adapters) with the heads, keeping the epoch with the best dev macro-F1.
    history: list[dict] = []
    if args.mode != "head":
        model, history = _fine_tune(model, ids, y, dev_ids, y_dev, pad, labels, args, log, progress)

    # 3. Lexical heads over all training texts, then the choices made on dev, in float32 as inference runs.
    model.eval()
    dev_pooled, dev_logits = run_model(model, dev_ids, pad, progress=progress, desc="dev")
    arrays: dict[str, np.ndarray] = {}
    head_config: dict[str, dict] = {}
    if args.lexical:
        idf = hashed_idf([e.text for e in train], args.n_features)
        arrays["lexical_idf"] = idf
        train_ngrams = hashed_tfidf([e.text for e in train], args.n_features, idf)
        dev_ngrams = hashed_tfidf([e.text for e in dev], args.n_features, idf)
    dev_probs = {}
    for h in heads:
        keep = y_dev[h] >= 0
        lexical_logits, lexical_weight = None, 0.0
        if args.lexical:
            log(f"Fitting the {h} character n-gram head ...")
            rows = np.flatnonzero(y[h] >= 0)
            lw, lb = _fit_linear(train_ngrams[rows], y[h][rows], len(labels[h]), args.lexical_c, args.seed)
            arrays |= {f"{h}.lexical_weight": lw.astype(np.float16), f"{h}.lexical_bias": lb}
            lexical_logits = np.asarray(dev_ngrams @ lw.astype(np.float16).astype(np.float32).T) + lb
            lexical_weight = choose_lexical_weight(dev_logits[h][keep], lexical_logits[keep], y_dev[h][keep])
        joined = joined_logits(dev_logits[h], lexical_logits, lexical_weight)
        temperature = round(fit_temperature(joined[keep], y_dev[h][keep]), 4)  # saved as used
        dev_probs[h] = combine(dev_logits[h], lexical_logits, lexical_weight, temperature)
        head_config[h] = {"labels": labels[h], "temperature": temperature, "lexical_weight": lexical_weight}
        arrays |= {f"{h}.weight": model.heads[h].weight.detach().numpy(), f"{h}.bias": model.heads[h].bias.detach().numpy()}

    if args.lexical and not any(h["lexical_weight"] for h in head_config.values()):
        log("The character n-gram heads did not help on dev: leaving them out")
        arrays = {k: v for k, v in arrays.items() if "lexical" not in k}
    oos_rule = _oos_rule(model, ids, y, labels, dev, dev_probs, dev_pooled, pad, args, rng, arrays, log, progress)
    metrics = _dev_metrics(dev, dev_probs, labels, oos_rule, dev_pooled, arrays)
    metrics |= {"n_train": len(train), "n_dev": len(dev), "epochs": history,
                "train_seconds": round(time.perf_counter() - started, 1)}

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _save_encoder(model.encoder, out / ENCODER_FILE, args)
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, str(out / HEADS_FILE))
    config = {"format": FORMAT, "mode": args.mode, "base_encoder": str(Path(encoder_path).resolve()),
              "base_fingerprint": fingerprint(model.encoder), "encoder_name": Path(encoder_path).name,
              "prefix": prefix, "max_length": args.max_length, "n_features": args.n_features, "heads": head_config,
              "oos": oos_rule, "data_hash": all_hash, "args": args.to_dict(), "metrics": metrics}
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"Saved the classifier in {out} ({metrics['train_seconds']:.0f} s)")
    return metrics


def _fine_tune(model, ids, y, dev_ids, y_dev, pad, labels, args: ClassifierTrainingArgs, log: Log, progress: bool):
    import torch
    from tqdm.auto import tqdm

    heads = list(labels)
    rows = np.arange(len(ids))
    if args.max_train_examples and len(rows) > args.max_train_examples:
        rows = np.sort(np.random.default_rng(args.seed + 1).permutation(rows)[:args.max_train_examples])
        log(f"Fine-tuning on a random {len(rows)} of the {len(ids)} training texts (max_train_examples)")
    if args.mode == "lora":
        from peft import LoraConfig, get_peft_model

        model.encoder = get_peft_model(model.encoder, LoraConfig(
            r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
            target_modules=["query", "key", "value", "dense"]))
        encoder_params, encoder_lr = [p for p in model.encoder.parameters() if p.requires_grad], args.lora_lr
    else:
        if args.freeze_embeddings:
            model.encoder.get_input_embeddings().weight.requires_grad_(False)
        encoder_params, encoder_lr = [p for p in model.encoder.parameters() if p.requires_grad], args.encoder_lr
    optimizer = torch.optim.AdamW([{"params": encoder_params, "lr": encoder_lr},
                                   {"params": list(model.heads.parameters()), "lr": args.head_lr}],
                                  weight_decay=args.weight_decay)
    rng = np.random.default_rng(args.seed)
    steps_per_epoch = -(-len(rows) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(steps_per_epoch * args.epochs, args.warmup_fraction))
    losses = {h: torch.nn.CrossEntropyLoss(weight=_class_weights(y[h][rows], len(labels[h]), args.class_weighting),
                                           label_smoothing=args.label_smoothing, ignore_index=-100) for h in heads}
    targets = {h: torch.from_numpy(y[h]) for h in heads}
    lengths = [len(ids[i]) for i in rows]
    best_f1, best_state, history, waited = -1.0, None, [], 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        epoch_started, total = time.perf_counter(), 0.0
        bar = tqdm(length_batches(lengths, args.batch_size, rng), desc=f"epoch {epoch}/{args.epochs}", disable=not progress,
                   leave=False)
        for n, batch in enumerate(bar, 1):
            index = rows[batch]
            input_ids, mask = collate([ids[i] for i in index], pad)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                _, logits = model(input_ids, mask)
            loss = sum(losses[h](logits[h].float(), targets[h][index]) for h in heads
                       if (targets[h][index] >= 0).any())
            if not torch.is_tensor(loss):
                continue  # no label of any head in this batch
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            total += float(loss.detach())
            bar.set_postfix(loss=f"{total / n:.3f}")
        _, dev_logits = run_model(model, dev_ids, pad, bf16=args.bf16, desc="dev")
        f1 = float(np.mean([_macro_f1(y_dev[h], dev_logits[h]) for h in heads]))
        history.append({"epoch": epoch, "loss": round(total / max(1, steps_per_epoch), 4), "dev_macro_f1": round(f1, 4),
                        "seconds": round(time.perf_counter() - epoch_started, 1)})
        log(f"epoch {epoch}: loss {history[-1]['loss']:.3f}, dev macro-F1 {f1:.4f} ({history[-1]['seconds']:.0f} s)")
        if f1 > best_f1:
            best_f1, waited = f1, 0
            best_state = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
        else:
            waited += 1
            if waited > args.patience - 1 and args.patience:
                log(f"Dev macro-F1 has not improved for {waited} epoch(s): stopping")
                break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)  # only what training changed
    if args.mode == "lora":
        model.encoder = model.encoder.merge_and_unload()
    return model, history


def _oos_rule(model, ids, y, labels, dev, dev_probs, dev_pooled, pad, args, rng, arrays, log, progress) -> dict:
    """The out-of-scope rule of the intent head, chosen on dev (none for a model without an intent head)."""
    if "intent" not in labels:
        return {"method": "none"}
    names = labels["intent"]
    oos_class = np.array([n in OOS_LABELS for n in names])
    if not oos_class.any() and not any(e.label("intent") in OOS_LABELS for e in dev):
        log("No out-of-scope examples in the data: the label set is closed, no out-of-scope rule")
        return {"method": "none"}
    inscope_rows = np.flatnonzero((y["intent"] >= 0) & ~oos_class[np.maximum(y["intent"], 0)])
    sample = inscope_rows[_stratified_sample(y["intent"][inscope_rows], args.bootstrap_max_examples, rng)]
    log(f"Out-of-scope statistics over {len(sample)} in-scope training texts ...")
    pooled, _ = run_model(model, [ids[i] for i in sample], pad, progress=progress, desc="out of scope")
    stats = fit_mahalanobis(pooled, y["intent"][sample])
    truth = np.array([names.index(e.label("intent")) if e.label("intent") in names else -1 for e in dev])
    is_oos = np.array([e.label("intent") in OOS_LABELS for e in dev])
    keep = (truth >= 0) | is_oos
    rule = choose_oos_rule(dev_probs["intent"][keep], dev_pooled[keep], stats, truth[keep], is_oos[keep], oos_class,
                           args.oos_max_inscope_loss)
    if rule["method"] == "mahalanobis":
        arrays |= stats
    log(f"Out-of-scope rule: {rule['method']} above {rule['threshold']:.4g} "
        f"(dev out-of-scope recall {rule['dev_oos_recall']:.3f})")
    return rule


def _dev_metrics(dev, dev_probs, labels, oos_rule, dev_pooled, arrays) -> dict:
    metrics = {}
    for h, probs in dev_probs.items():
        truth = [e.label(h) for e in dev]
        predicted = [labels[h][i] for i in probs.argmax(1)]
        if h == "intent":  # scored as the served classifier flags them
            flagged = out_of_scope_flags(oos_rule, labels[h], probs, dev_pooled, arrays)
            predicted = ["oos" if f else p for p, f in zip(predicted, flagged)]
        keep = [i for i, t in enumerate(truth) if t is not None]
        metrics[h] = classification_scores([truth[i] for i in keep], [predicted[i] for i in keep])
    return {"dev": metrics}


def classification_scores(truth: list[str], predicted: list[str]) -> dict:
    """Accuracy and macro-F1; with out-of-scope rows also in-scope accuracy and out-of-scope recall/precision."""
    truth_oos = np.array([t in OOS_LABELS for t in truth])
    pred_oos = np.array([p in OOS_LABELS for p in predicted])
    same = np.array([t == p or (a and b) for t, p, a, b in zip(truth, predicted, truth_oos, pred_oos)])
    scores = {"accuracy": round(float(same.mean()), 4),
              "macro_f1": round(float(f1_score(truth_names := ["oos" if a else t for t, a in zip(truth, truth_oos)],
                                                ["oos" if b else p for p, b in zip(predicted, pred_oos)],
                                                labels=sorted(set(truth_names)), average="macro",
                                                zero_division=0)), 4)}
    if truth_oos.any():
        scores |= {"inscope_accuracy": round(float(same[~truth_oos].mean()), 4),
                   "oos_recall": round(float(pred_oos[truth_oos].mean()), 4),
                   "oos_precision": round(float(truth_oos[pred_oos].mean()) if pred_oos.any() else 0.0, 4)}
    return scores


def _save_encoder(encoder, path: Path, args: ClassifierTrainingArgs) -> None:
    """The encoder's weights, less the word embeddings where training left them as the base encoder has them."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in encoder.state_dict().items()}
    if args.mode == "head" or args.mode == "lora" or args.freeze_embeddings:
        state.pop(WORD_EMBEDDINGS, None)
    save_file(state, str(path))
