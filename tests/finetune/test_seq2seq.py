"""The drafter's training: the trimmed vocabulary, retrieval-augmented pairs, and one tiny real training run."""

import json

import pytest

from assistant.models import minilm_path
from assistant.seq2seq import Decoding, Seq2SeqGenerator
from finetune import vocab_trim
from finetune.args import DrafterTrainingArgs
from finetune.seq2seq import DrafterExample, history_retriever, qa_examples, split_groups, train_drafter
from retrieval.knowledge import load_knowledge
from tests.conftest import KNOWLEDGE, HashEmbedder


@pytest.fixture(scope="module")
def unigram_folder(tmp_path_factory):
    """A real SentencePiece-style (Unigram) tokenizer, trained here on a few sentences."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = ["where is my order", "how long does delivery take", "refunds take three to five days",
              "退款多久到账", "运费多少钱", "the parcel arrived broken", "can I change my address"] * 20
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(corpus, trainers.UnigramTrainer(
        vocab_size=120, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"))
    folder = tmp_path_factory.mktemp("unigram")
    PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", pad_token="<pad>", eos_token="</s>",
                            unk_token="<unk>").save_pretrained(folder)
    return folder


def test_a_trimmed_vocabulary_tokenizes_the_shop_texts_as_before(unigram_folder, tmp_path):
    from transformers import AutoTokenizer

    texts = ["where is my order", "运费多少钱"]
    trimmed, order = vocab_trim.trim(unigram_folder, texts)
    vocab_trim.write(tmp_path, unigram_folder, trimmed)
    before = AutoTokenizer.from_pretrained(unigram_folder)
    after = AutoTokenizer.from_pretrained(tmp_path)
    assert len(after) < len(before)
    for text in texts:
        assert [order[i] for i in after(text)["input_ids"]] == before(text)["input_ids"]  # same pieces
        assert after.decode(after(text)["input_ids"], skip_special_tokens=True) == text
    # Single characters survive, so a text the corpus never had is still spelled out, not lost.
    assert after.decode(after("parcel")["input_ids"], skip_special_tokens=True) == "parcel"
    assert after.pad_token_id == order.index(before.pad_token_id)


def test_a_qa_pair_reads_other_answers_and_targets_its_own(tmp_path):
    knowledge = load_knowledge(KNOWLEDGE)
    entries = [e for e in knowledge.faq if e.intent in ("shipping_time", "shipping_cost")]
    retriever = history_retriever(entries, HashEmbedder(), tmp_path / "index")
    pairs = qa_examples(entries, retriever, knowledge.shop)
    assert len(pairs) == len(entries)
    own = {e.id: e for e in entries}
    for pair in pairs:
        assert own[pair.group].question == pair.message and 1 <= len(pair.sources) <= 3
        assert pair.target not in pair.sources  # its own answer is what it must write, never what it reads
        assert "{" not in pair.target and "{" not in "".join(pair.sources)  # filled with the shop's facts
        assert pair.input.startswith(f"question: {pair.message} | intent: {pair.intent}")
    rest, held = split_groups(pairs, 0.3, seed=0, salt="test")
    assert {p.group for p in rest}.isdisjoint({p.group for p in held}) and held and rest
    train, dev = split_groups(rest, 0.3, seed=0, salt="dev")  # a dev split from what the test split left
    assert train and dev
    assert DrafterExample.from_row(json.loads(json.dumps(pairs[0].as_row()))) == pairs[0]


@pytest.mark.integration
def test_a_tiny_drafter_trains_saves_and_drafts(tmp_path):
    knowledge = load_knowledge(KNOWLEDGE)
    entries = [e for e in knowledge.faq if e.lang == "en"][:120]
    retriever = history_retriever(entries, HashEmbedder(), tmp_path / "index")
    pairs = qa_examples(entries, retriever, knowledge.shop)
    args = DrafterTrainingArgs.tiny(architecture="warm-start", epochs=2, trim_vocabulary=False, learning_rate=1e-3,
                                    new_weights_lr_factor=1.0,
                                    batch_size=16)
    metrics = train_drafter(pairs, minilm_path(), tmp_path / "drafter", args=args, log=lambda _: None, progress=False)
    history = metrics["history"]
    # Held-out (dev) loss well below a random guess over the vocabulary (ln 30522 = 10.3), and falling.
    assert metrics["dev_loss"] < 8.0 and history[-1]["dev_loss"] < history[0]["dev_loss"] + 1e-3
    saved = json.loads((tmp_path / "drafter" / "drafter.json").read_text())
    assert saved["metrics"]["n_train"] == metrics["n_train"] and saved["args"]["decoder_layers"] == 1
    drafts = Seq2SeqGenerator(tmp_path / "drafter", Decoding(max_new_tokens=16)).generate([pairs[0].input])
    assert len(drafts) == 1 and (drafts[0] is None or isinstance(drafts[0], str))


def test_the_evaluation_scores_what_customers_would_read():
    from finetune.drafter_eval import evaluate_drafter

    examples = [DrafterExample(f"e{i}", "en", "how long is delivery?", "shipping_time", None,
                               ("Delivery takes 3-5 days.", "We ship within 24 hours."), "Delivery takes 3-5 days.")
                for i in range(4)]
    drafts = iter(["Delivery takes 3-5 days.", "Delivery takes 9 days.", None, "Delivery takes 3-5 days."])
    result = evaluate_drafter(examples, lambda inputs: [next(drafts)])
    # Two drafts pass the guard; an invented "9 days" and a cut-off draft fall back to the template.
    assert result["fallback_rate"] == 0.5
    assert result["fallback_reasons"] == {"states a fact found in no source": 1, "cut off by the time or length limit": 1}
    assert result["model"]["chrf"] == pytest.approx(100) == result["template"]["chrf"]
    assert result["model_raw"]["chrf"] < 100 and result["latency_ms"]["p50"] >= 0 and result["n"] == 4
    with pytest.raises(ValueError):
        evaluate_drafter([], lambda inputs: [])


@pytest.mark.integration
def test_a_small_t5_from_scratch_trains_with_its_own_tokenizer(tmp_path):
    from transformers import AutoTokenizer

    knowledge = load_knowledge(KNOWLEDGE)
    entries = [e for e in knowledge.faq if e.intent in ("shipping_time", "shipping_cost", "refund_status")]
    retriever = history_retriever(entries, HashEmbedder(), tmp_path / "index")
    pairs = qa_examples(entries, retriever, knowledge.shop)
    args = DrafterTrainingArgs.tiny(architecture="t5-scratch", epochs=2, learning_rate=1e-3, batch_size=16)
    metrics = train_drafter(pairs, minilm_path(), tmp_path / "t5", args=args, log=lambda _: None, progress=False)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "t5")
    assert tokenizer.decode(tokenizer("退款多久到账")["input_ids"], skip_special_tokens=True) == "退款多久到账"
    assert tokenizer("hi")["input_ids"][-1] == tokenizer.eos_token_id  # targets end, so drafts can end
    assert metrics["dev_loss"] < 8.0 and json.loads((tmp_path / "t5" / "drafter.json").read_text())["encoder"] is None
    from transformers import AutoModelForSeq2SeqLM

    generation = AutoModelForSeq2SeqLM.from_pretrained(tmp_path / "t5").generation_config  # saved, reloaded
    assert (generation.eos_token_id, generation.decoder_start_token_id) == (tokenizer.eos_token_id, tokenizer.pad_token_id)
