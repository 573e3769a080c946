"""The reply drafter, trained here: retrieval-augmented pairs in, a seq2seq folder out.

Pairs come from the shop's historical Q&A (every entry of the FAQ index: its question, with the answers
the served retriever finds for it *other than its own*, filled with the shop's facts, and its own
answer as the target) and from agents' replies in the store (the customer's message and its retrieved
answers -> what the agent wrote). The model is an encoder-decoder warm-started from the pretrained
encoder on both sides, as in Rothe et al. (2020): cross-attention new, the vocabulary cut to the pieces
the shop's texts use (finetune/vocab_trim.py), word embeddings frozen and tied to the output layer.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.drafter import SOURCES, TemplateDrafter, drafter_input
from assistant.types import Route
from finetune.args import DrafterTrainingArgs
from finetune.classifier import length_batches, linear_schedule
from retrieval.embedder import Embedder
from retrieval.faq_index import FaqIndex
from retrieval.knowledge import FaqEntry, Shop
from retrieval.language import detect_language
from retrieval.retriever import Hit, Retriever

Log = Callable[[str], None]
CONFIG_FILE = "drafter.json"


@dataclass(frozen=True)
class DrafterExample:
    """One training or test pair, with what the template baseline would have sent (`sources[0]`)."""

    group: str                  # the Q&A entry's id or the conversation's: a split keeps it on one side
    lang: str
    message: str
    intent: str | None
    sentiment: str | None
    sources: tuple[str, ...]    # filled answers the model reads, best first
    target: str

    @property
    def input(self) -> str:
        return drafter_input(self.message, self.intent, self.sentiment, list(self.sources))

    def as_row(self) -> dict:
        return {**asdict(self), "sources": list(self.sources)}

    @classmethod
    def from_row(cls, row: dict) -> "DrafterExample":
        return cls(**{**row, "sources": tuple(row["sources"])})


def route_for(intent: str | None, sentiment: str | None, lang: str) -> Route:
    """What a confident router would have read (for filling templates the way serving does)."""
    return Route(intent=intent or "", intent_confidence=1.0, out_of_scope=False, sentiment=sentiment or "neutral",
                 sentiment_score=1.0, negative_score=float(sentiment == "negative"), lang=lang)


def history_retriever(entries: list[FaqEntry], embedder: Embedder, folder: Path) -> Retriever:
    """The served retriever over `entries` (an exact index written to `folder`)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    FaqIndex.build(entries, embedder, knowledge_hash="drafter-history").write(folder)
    retriever = Retriever(folder, embedder)
    retriever.warm_up()
    return retriever


def qa_examples(entries: list[FaqEntry], retriever: Retriever, shop: Shop, *, k: int = SOURCES) -> list[DrafterExample]:
    """Each entry as a pair: its question and the k best *other* answers, filled -> its own answer, filled."""
    template = TemplateDrafter(shop)
    out = []
    for entry in entries:
        route = route_for(entry.intent, None, entry.lang)
        hits = [h for h in retriever.search(entry.question, k=k + 1, lang=entry.lang,
                                            intent_prior={entry.intent: 1.0} if entry.intent else None)
                if h.id != entry.id][:k]
        if not hits:
            continue
        out.append(DrafterExample(entry.id, entry.lang, entry.question, entry.intent or None, None,
                                  tuple(template.fill(h, route) for h in hits),
                                  template.fill(Hit(entry, 1.0, 1.0, 0.0), route)))
    return out


def reply_examples(pairs, retriever: Retriever, shop: Shop, *, k: int = SOURCES) -> list[DrafterExample]:
    """Agents' replies from the store (`finetune.datasets.DrafterPair`) as pairs."""
    template = TemplateDrafter(shop)
    out = []
    for pair in pairs:
        lang = detect_language(pair.message)
        route = route_for(pair.intent, pair.sentiment, lang)
        hits = retriever.search(pair.message, k=k, lang=lang, intent_prior={pair.intent: 1.0} if pair.intent else None)
        if hits:
            out.append(DrafterExample(pair.conversation_id, lang, pair.message, pair.intent, pair.sentiment,
                                      tuple(template.fill(h, route) for h in hits), pair.reply))
    return out


def split_groups(items: list, fraction: float, seed: int, *, salt: str, key=lambda example: example.group) -> tuple[list, list]:
    """(rest, held out): about `fraction` of the groups (`key`), chosen by a hash of (salt, seed, group).

    Each split has its own `salt` ("test", "dev"): with one hash for both, a dev split drawn from what a
    test split left would be empty.
    """
    held = lambda item: int(hashlib.sha256(f"{salt}\0{seed}\0{key(item)}".encode()).hexdigest()[:8], 16) / 16**8 < fraction  # noqa: E731
    return [i for i in items if not held(i)], [i for i in items if held(i)]


def data_hash(examples: list[DrafterExample]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example.as_row(), sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def build_model(encoder: Path, texts: list[str], args: DrafterTrainingArgs, tokenizer_out: Path):
    """(model, tokenizer): an encoder-decoder warm-started from `encoder` (or a small T5 from scratch,
    `args.architecture`), the tokenizer written to `tokenizer_out`."""
    if args.architecture == "t5-scratch":
        return _t5_from_scratch(texts, tokenizer_out)
    import torch
    from transformers import AutoTokenizer, EncoderDecoderModel
    from transformers.utils import logging as hf_logging

    from finetune import vocab_trim

    if args.trim_vocabulary:
        trimmed, order = vocab_trim.trim(encoder, texts)
        vocab_trim.write(tokenizer_out, encoder, trimmed)
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_out, local_files_only=True)
    else:
        tokenizer, order = AutoTokenizer.from_pretrained(encoder, local_files_only=True), None
        tokenizer.save_pretrained(tokenizer_out)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new cross-attention weights are meant to be missing
    try:
        model = EncoderDecoderModel.from_encoder_decoder_pretrained(
            str(encoder), str(encoder), decoder_num_hidden_layers=args.decoder_layers)
    finally:
        hf_logging.set_verbosity(verbosity)
    pad = tokenizer.pad_token_id
    if order is not None:
        model.encoder.set_input_embeddings(vocab_trim.select_rows(model.encoder.get_input_embeddings(), order, pad))
        model.decoder.set_input_embeddings(vocab_trim.select_rows(model.decoder.get_input_embeddings(), order, pad))
        predictions = model.decoder.cls.predictions
        head = torch.nn.Linear(predictions.decoder.in_features, len(order))
        head.bias = torch.nn.Parameter(predictions.bias.data[torch.tensor(order)].clone())
        predictions.decoder, predictions.bias = head, head.bias
        for config in (model.config.encoder, model.config.decoder, model.encoder.config, model.decoder.config):
            config.vocab_size = len(order)
    # Tied: the output layer scores pieces with the (frozen) pretrained embeddings.
    model.decoder.cls.predictions.decoder.weight = model.decoder.get_input_embeddings().weight
    for part in (model.encoder, model.decoder):
        part.get_input_embeddings().weight.requires_grad_(False)
    for config in (model.config, model.generation_config):
        config.decoder_start_token_id = tokenizer.cls_token_id
        config.pad_token_id = pad
        config.eos_token_id = tokenizer.sep_token_id or tokenizer.eos_token_id
    return model, tokenizer


T5_VOCABULARY = 8000


def _t5_from_scratch(texts: list[str], tokenizer_out: Path):
    """A small T5 (4+4 layers, d_model 256) and a Unigram tokenizer trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tokenizer = Tokenizer(models.Unigram())
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(texts, trainers.UnigramTrainer(
        vocab_size=T5_VOCABULARY, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False))
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(tokenizer_out)
    fast = AutoTokenizer.from_pretrained(tokenizer_out, local_files_only=True)
    config = T5Config(vocab_size=len(fast), d_model=256, d_kv=64, d_ff=1024, num_layers=4, num_decoder_layers=4,
                      num_heads=4, dropout_rate=0.1, pad_token_id=fast.pad_token_id, eos_token_id=fast.eos_token_id,
                      decoder_start_token_id=fast.pad_token_id, tie_word_embeddings=True)
    model = T5ForConditionalGeneration(config)
    generation = model.generation_config
    generation.decoder_start_token_id, generation.pad_token_id, generation.eos_token_id = (
        fast.pad_token_id, fast.pad_token_id, fast.eos_token_id)
    return model, fast


def train_drafter(train: list[DrafterExample], encoder: Path, out: Path, *, dev: list[DrafterExample] | None = None,
                  vocabulary: list[str] = (), args: DrafterTrainingArgs | None = None, log: Log = print,
                  progress: bool = True) -> dict:
    """Train on `train` (dev: `dev`, else a share of its groups), keep the best epoch by dev loss, save in `out`.

    `vocabulary` adds texts whose pieces the trimmed vocabulary must keep (the customers' messages).
    Returns the metrics, also written to `out/drafter.json` with the arguments and the data hash.
    """
    import torch
    from tqdm.auto import tqdm

    args = args or DrafterTrainingArgs()
    started = time.perf_counter()
    if dev is None:
        train, dev = split_groups(train, args.dev_fraction, args.seed, salt="dev")
    if not train or not dev:
        raise ValueError(f"the drafter needs training and dev pairs, got {len(train)} and {len(dev)}")
    torch.manual_seed(args.seed)
    out = Path(out)
    texts = [t for e in train + dev for t in (e.message, e.target, *e.sources)] + list(vocabulary)
    model, tokenizer = build_model(encoder, texts, args, out)
    log(f"Drafter ({args.architecture}): {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters "
        f"({sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6:.0f}M trained), "
        f"vocabulary {len(tokenizer)}; {len(train)} training and {len(dev)} dev pairs")

    def encode(rows):
        x = tokenizer([e.input for e in rows], truncation=True, max_length=args.max_input_tokens)["input_ids"]
        y = tokenizer([e.target for e in rows], truncation=True, max_length=args.max_target_tokens)["input_ids"]
        # The decoder starts from <s> (decoder_start_token_id): a target that begins with it again would
        # teach the model to say <s> first.
        start = model.generation_config.decoder_start_token_id
        return x, [ids[1:] if ids and ids[0] == start else ids for ids in y]

    def batch_tensors(x, y, index):
        width_x, width_y = max(len(x[i]) for i in index), max(len(y[i]) for i in index)
        ids = torch.full((len(index), width_x), tokenizer.pad_token_id)
        labels = torch.full((len(index), width_y), -100)
        for row, i in enumerate(index):
            ids[row, :len(x[i])] = torch.tensor(x[i])
            labels[row, :len(y[i])] = torch.tensor(y[i])
        return ids, (ids != tokenizer.pad_token_id).long(), labels

    def dev_loss() -> float:
        model.eval()
        total, tokens = 0.0, 0
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            for start in range(0, len(dev_x), args.batch_size):
                ids, mask, labels = batch_tensors(dev_x, dev_y, list(range(start, min(start + args.batch_size, len(dev_x)))))
                n = int((labels != -100).sum())
                total += float(model(input_ids=ids, attention_mask=mask, labels=labels).loss) * n
                tokens += n
        return total / max(tokens, 1)

    train_x, train_y = encode(train)
    dev_x, dev_y = encode(dev)
    lengths = [len(x) + len(y) for x, y in zip(train_x, train_y)]
    rng = np.random.default_rng(args.seed)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # The parts the checkpoint did not have (cross-attention, the output transform) learn faster.
    new = {id(p) for name, p in model.named_parameters() if p.requires_grad and
           ("crossattention" in name or "cls.predictions.transform" in name)}
    optimizer = torch.optim.AdamW(
        [{"params": [p for p in trainable if id(p) not in new], "lr": args.lr},
         {"params": [p for p in trainable if id(p) in new], "lr": args.lr * args.new_weights_lr_factor}],
        weight_decay=args.weight_decay)
    steps = -(-len(train) // args.batch_size) * args.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, linear_schedule(steps, args.warmup_fraction))
    history, best, best_state, waited = [], float("inf"), None, 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        epoch_started, losses = time.perf_counter(), []
        bar = tqdm(length_batches(lengths, args.batch_size, rng), desc=f"epoch {epoch}/{args.epochs}",
                   disable=not progress, leave=False)
        for index in bar:
            ids, mask, labels = batch_tensors(train_x, train_y, list(index))
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        loss_dev = dev_loss()
        history.append({"epoch": epoch, "train_loss": round(float(np.mean(losses)), 4), "dev_loss": round(loss_dev, 4),
                        "seconds": round(time.perf_counter() - epoch_started, 1)})
        log(f"epoch {epoch}: loss {np.mean(losses):.3f}, dev loss {loss_dev:.3f} ({history[-1]['seconds']:.0f} s)")
        if loss_dev < best - 1e-4:
            best, waited = loss_dev, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
            if waited >= args.patience:
                log(f"Dev loss has not improved for {waited} epoch(s): stopping")
                break
    if best_state is None:
        raise ValueError(f"the dev loss never became a number ({history[-1]['dev_loss']}): lower the learning rate "
                         "or check the training pairs")
    model.load_state_dict(best_state)
    model.eval()
    model.save_pretrained(out)
    metrics = {"dev_loss": round(best, 4), "best_epoch": min(history, key=lambda h: h["dev_loss"])["epoch"],
               "history": history, "n_train": len(train), "n_dev": len(dev), "data_hash": data_hash(train + dev),
               "train_seconds": round(time.perf_counter() - started, 1)}
    (out / CONFIG_FILE).write_text(json.dumps({
        "kind": "drafter", "encoder": Path(encoder).name if args.architecture == "warm-start" else None,
        "args": args.to_dict(), "metrics": metrics,
        "data_hash": metrics["data_hash"], "input_format": drafter_input("MESSAGE", "INTENT", "SENTIMENT", ["ANSWER"]),
    }, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"Saved the drafter in {out} ({metrics['train_seconds']:.0f} s; best dev loss {best:.3f} "
        f"at epoch {metrics['best_epoch']})")
    return metrics

