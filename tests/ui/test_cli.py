import json
import re

from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()


def test_knowledge_validate_ok():
    result = runner.invoke(app, ["knowledge", "validate"])
    assert result.exit_code == 0 and "27 intents" in result.output


def test_knowledge_validate_reports_file_and_line(knowledge_copy):
    path = knowledge_copy / "messages" / "en.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[6] = json.dumps({"text": "hey", "intent": "greeting", "sentiment": "meh", "lang": "en"})
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["knowledge", "validate", str(knowledge_copy)])
    assert result.exit_code == 1
    assert f"{path}:7: sentiment 'meh'" in result.output


def test_broken_knowledge_stops_chat_with_the_report(knowledge_copy, monkeypatch):
    (knowledge_copy / "shop.yaml").write_text("name: [oops\n")
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_DIR", str(knowledge_copy))
    result = runner.invoke(app, ["chat", "hi", "--json"])
    assert result.exit_code == 1 and "shop.yaml" in result.output and "Traceback" not in result.output


def test_keys_create_prints_the_key_last_and_revoke_stops_it(assistant_home):
    from assistant import store
    from assistant.settings import Settings

    created = runner.invoke(app, ["keys", "create", "--name", "shop", "--origin", "https://shop.example/"])
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    engine = store.make_engine(Settings().db_url)
    with store.transaction(engine) as session:
        row = store.find_api_key(session, key=key)
        assert row is not None and row.origins == ["https://shop.example"] and row.key_hash != key
    assert runner.invoke(app, ["keys", "create", "--name", "shop"]).exit_code == 1  # names are unique
    assert runner.invoke(app, ["keys", "create", "--name", "x", "--origin", "shop.example"]).exit_code == 2
    assert runner.invoke(app, ["keys", "revoke", "shop"]).exit_code == 0
    with store.transaction(engine) as session:
        assert store.find_api_key(session, key=key) is None
    assert '"revoked": "' in runner.invoke(app, ["keys", "list", "--json"]).output


def test_agents_add_reads_the_password_from_stdin(assistant_home):
    from assistant import desk, store
    from assistant.settings import Settings

    added = runner.invoke(app, ["agents", "add", "lin", "--password-stdin"], input="s3cret-pass\n")
    assert added.exit_code == 0, added.output
    with store.transaction(store.make_engine(Settings().db_url)) as session:
        assert desk.authenticate(session, name="lin", password="s3cret-pass") is not None
    short = runner.invoke(app, ["agents", "add", "kim", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "8 characters" in short.output
    assert "lin" in runner.invoke(app, ["agents", "list"]).output



def test_admin_commands_are_audited_with_their_outcome_and_no_secret(assistant_home):
    import json

    from assistant import desk, store
    from assistant.settings import Settings

    assert runner.invoke(app, ["keys", "create", "--name", "shop", "--origin", "https://shop.example"]).exit_code == 0
    assert runner.invoke(app, ["keys", "create", "--name", "shop"]).exit_code == 1
    assert runner.invoke(app, ["agents", "add", "lin", "--password-stdin"], input="s3cret-pass\n").exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "ops 13800138000"]).exit_code == 1
    engine = store.make_engine(Settings().db_url)
    with store.transaction(engine) as session:  # an agent's action joins the same log
        conversation = store.create_conversation(session)
        desk.take_over(session, agent_name="lin", conversation_id=conversation.id)
    listed = runner.invoke(app, ["audit", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.strip().splitlines()]
    assert [(r["kind"], r["action"], r["outcome"].split(":")[0]) for r in rows] == [
        ("agent", "take_over", "done"), ("admin", "keys revoke", "failed"), ("admin", "agents add", "done"),
        ("admin", "keys create", "failed"), ("admin", "keys create", "done")]
    assert rows[4]["detail"] == {"name": "shop", "origin": ["https://shop.example"]} and "@" in rows[4]["who"]
    assert "exists already" in rows[3]["outcome"] and rows[0]["who"] == "lin"
    assert "13800138000" not in listed.output and "s3cret" not in listed.output  # masked; never a password
    only_admin = runner.invoke(app, ["audit", "list", "--kind", "admin", "--limit", "2"]).output.strip().splitlines()
    assert len(only_admin) == 2 and "keys revoke" in only_admin[0]

def _labelled_csv(path, rows):
    path.write_text("utterance,intent\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8")
    return path


SMALL_INTENTS = {
    "refund": ["i want my money back", "refund please", "give me a refund", "can i get a refund now",
               "refund my order", "i need a refund", "how do refunds work", "money back please"],
    "shipping": ["where is my parcel", "when does it ship", "delivery time?", "track my package",
                 "shipping cost to paris", "has my parcel shipped", "how long is delivery", "is shipping free"],
}


def test_eval_classifier_prints_scores_and_writes_the_report(tmp_path):
    rows = [(t, label) for label, texts in SMALL_INTENTS.items() for t in texts]
    train = _labelled_csv(tmp_path / "train.csv", rows * 3)
    test = _labelled_csv(tmp_path / "test.csv", [("refund for my order please", "refund"),
                                                 ("where is my package now", "shipping")])
    out = tmp_path / "model"
    result = runner.invoke(app, ["eval", "classifier", "--train", str(train), "--test", str(test), "--encoder", "minilm",
                                 "--mode", "head", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "n_train", "n_test", "train_seconds"} <= set(scores)
    assert scores["n_test"] == 2 and scores["accuracy"] == 1.0 and "oos_recall" not in scores
    assert (out / "confusion-intent.png").stat().st_size > 1000
    assert json.loads((out / "report-intent.json").read_text())["refund"]["recall"] == 1.0


def test_eval_classifier_rejects_a_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("words,score\nhello,1\n")
    result = runner.invoke(app, ["eval", "classifier", "--train", str(bad), "--test", str(bad), "--encoder", "minilm"])
    assert result.exit_code == 1 and "no text column" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["eval", "classifier", "--train", str(bad), "--test", str(bad), "--task", "mood"])
    assert result.exit_code == 2


def test_train_classifier_registers_a_version_the_assistant_then_uses(assistant_home, tmp_path, monkeypatch):
    import shutil

    from tests.conftest import KNOWLEDGE

    # A small shop keeps this quick: the sample shop's English messages only.
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / "messages" / "zh.jsonl").unlink()
    monkeypatch.setenv("ASSISTANT_KNOWLEDGE_DIR", str(knowledge))
    monkeypatch.setenv("ASSISTANT_ENCODER", "all-minilm-l6-v2")
    result = runner.invoke(app, ["train", "classifier", "--mode", "head", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["classifier"] == "v0001" and printed["metrics"]["dev"]["intent"]["accuracy"] >= 0.6
    from assistant.registry import Registry
    from assistant.settings import Settings

    assert Registry(Settings().models_dir).active_version("classifier") == "v0001"


def test_train_classifier_refuses_a_one_head_file_into_the_registry(tmp_path):
    rows = [(t, label) for label, texts in SMALL_INTENTS.items() for t in texts]
    data = _labelled_csv(tmp_path / "train.csv", rows)
    def flat(output: str) -> str:  # the usage error comes in a box that wraps its lines
        return re.sub(r"[\s│╭╮╰╯─]+", " ", output)

    result = runner.invoke(app, ["train", "classifier", "--data", str(data)])
    assert result.exit_code == 2 and "give --out DIR" in flat(result.output)
    result = runner.invoke(app, ["eval", "classifier", "--train", str(data), "--test", str(data)])
    assert result.exit_code == 2 and "no test split of its own" in flat(result.output)


def test_serve_refuses_workers_and_ray_together(assistant_home):
    refused = runner.invoke(app, ["serve", "--ray", "--workers", "2"])
    assert refused.exit_code == 2 and "exclude each other" in refused.output
    assert not (assistant_home / "models").exists()  # refused before any bootstrap
