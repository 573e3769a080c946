import json

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
