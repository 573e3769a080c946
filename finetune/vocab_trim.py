"""A multilingual tokenizer cut down to the pieces a shop's texts use.

multilingual-e5-small has 250,002 word pieces for ~100 languages; a shop's replies use a few thousand.
The drafter's output layer scores every piece at every generated token, so it is most of the cost of
training and decoding on a CPU. `trim` keeps the pieces the corpus uses, every single-character piece
(so any text can still be spelled out, in any script the encoder knew) and the special tokens, and
rewrites the Unigram tokenizer with the new ids; `select_rows` cuts an embedding matrix to match.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from pathlib import Path

META = "\u2581"  # SentencePiece's word-start marker


def trim(folder: Path, texts: Iterable[str], *, batch_size: int = 512) -> tuple[dict, list[int]]:
    """(the trimmed tokenizer.json, the kept old ids in their new order) for the tokenizer in `folder`."""
    from transformers import AutoTokenizer

    data = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
    if data.get("model", {}).get("type") != "Unigram":
        raise ValueError(f"{folder}: only a Unigram (SentencePiece) tokenizer can be trimmed here, "
                         f"found {data.get('model', {}).get('type')!r}")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    vocab = data["model"]["vocab"]
    kept = {token["id"] for token in data.get("added_tokens", [])}
    kept |= {i for i, (piece, _) in enumerate(vocab) if len(piece.lstrip(META)) <= 1}
    batch: list[str] = []
    for text in texts:
        batch.append(text)
        if len(batch) >= batch_size:
            kept |= {i for ids in tokenizer(batch)["input_ids"] for i in ids}
            batch = []
    if batch:
        kept |= {i for ids in tokenizer(batch)["input_ids"] for i in ids}
    order = sorted(i for i in kept if i < len(vocab))
    new_id = {old: new for new, old in enumerate(order)}
    out = copy.deepcopy(data)
    out["model"]["vocab"] = [vocab[i] for i in order]
    out["model"]["unk_id"] = new_id[data["model"]["unk_id"]]
    for token in out.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    for special in (out.get("post_processor") or {}).get("special_tokens", {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return out, order


def write(folder: Path, source: Path, tokenizer_json: dict) -> None:
    """The trimmed tokenizer into `folder`, with the source's tokenizer settings."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json, ensure_ascii=False), encoding="utf-8")
    config = Path(source) / "tokenizer_config.json"
    if config.is_file():
        (folder / "tokenizer_config.json").write_text(config.read_text(encoding="utf-8"), encoding="utf-8")


def select_rows(embedding, order: list[int], padding_idx: int | None):
    """A new embedding layer with the rows of `order` (frozen weights stay frozen)."""
    import torch

    new = torch.nn.Embedding(len(order), embedding.embedding_dim, padding_idx=padding_idx)
    new.weight.data = embedding.weight.data[torch.tensor(order)].clone()
    new.weight.requires_grad_(embedding.weight.requires_grad)
    return new
