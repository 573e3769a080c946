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
