"""Property tests for the loaders: a damaged file, whatever its bytes, is reported as problems (or a clear
domain error), never a crash."""

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.errors import InvalidInput
from assistant.review_files import ReviewFile
from retrieval.errors import KnowledgeError
from retrieval.knowledge import load_knowledge, validate_knowledge
from tests.conftest import KNOWLEDGE

FILES = ["shop.yaml", "intents.yaml", "faq/en.jsonl", "messages/zh.jsonl", "aspects.yaml"]
# Bytes a damaged or wrong file holds: random bytes, text that almost parses, other formats.
CONTENT = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(lambda t: t.encode("utf-8")),
    st.sampled_from([b"", b"\xff\xfe\x00\x00", b"name: [oops\n", b"- - -\n", b"{\"question\": 1}\n", b"null\n",
                     b"facts: 3\n", b"products: {a: 1}\n", b"order_id_pattern: '('\n", b"{\"text\": \"hi\"}\n",
                     b"PK\x03\x04binary zip", "问题：答案\n".encode("gbk")]),
    st.lists(st.dictionaries(st.sampled_from(["question", "answer", "id", "intent", "lang", "text", "sentiment"]),
                             st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=6), max_size=4)
    .map(lambda rows: "\n".join(__import__("json").dumps(r, ensure_ascii=False) for r in rows).encode("utf-8")),
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FILES), CONTENT)
def test_a_damaged_knowledge_file_is_reported_never_a_crash(name, content):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "knowledge"
        shutil.copytree(KNOWLEDGE, folder)
        (folder / name).write_bytes(content)
        problems = validate_knowledge(folder)
        assert all(str(p) for p in problems)
        try:
            load_knowledge(folder)
        except KnowledgeError as exc:
            assert problems and "problem" in str(exc)
        if name == "aspects.yaml":
            from assistant.aspects import load_aspects

            try:
                load_aspects(folder)
            except KnowledgeError:
                pass


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([".csv", ".tsv", ".jsonl"]), CONTENT)
def test_a_damaged_review_file_gives_rows_or_a_clear_error(suffix, content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"reviews{suffix}"
        path.write_bytes(content)
        try:
            review_file = ReviewFile(path)
            rows = list(review_file)
        except InvalidInput as exc:
            assert str(exc)
            return
        assert all(r.text.strip() for r in rows) and review_file.skipped >= 0
