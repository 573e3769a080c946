import pytest

from assistant.errors import ModelMissing
from assistant.seq2seq import Decoding, Seq2SeqGenerator


def test_a_seq2seq_folder_drafts_one_text_or_none_per_input(tiny_seq2seq):
    generator = Seq2SeqGenerator(tiny_seq2seq, Decoding(max_new_tokens=12))
    inputs = ["question: where is my order | intent: order_status | answer 1: It ships in 2 days.",
              "question: hi", "question: 退款多久 | answer 1: 三到五天"]
    outputs = generator.generate(inputs)
    assert len(outputs) == 3 and all(o is None or isinstance(o, str) for o in outputs)
    assert generator.generate(inputs[:1]) == generator.generate(inputs[:1])  # greedy: the same draft again
    assert generator.generate([]) == []
    # An untrained model rarely ends a draft within 2 tokens: cut-off drafts come back as None.
    assert Seq2SeqGenerator(tiny_seq2seq, Decoding(max_new_tokens=2)).generate(inputs[:1]) == [None]


def test_a_folder_that_is_not_a_model_says_what_to_do(tmp_path):
    with pytest.raises(ModelMissing, match="assistant train drafter"):
        Seq2SeqGenerator(tmp_path).warm_up()
    with pytest.raises(ValueError):
        Decoding(num_beams=0)
