import json

from typer.testing import CliRunner

from ui.cli import app

runner = CliRunner()


def _labelled(path, n=120):
    rows = ["cat,label,review"]
    good, bad = ["质量很好，物流很快", "great quality, fast delivery", "非常满意"], ["质量太差，物流很慢", "arrived broken", "非常失望"]
    for i in range(n):
        rows.append(f"{'衣服' if i % 3 else '手机'},{i % 2},{(good if i % 2 else bad)[i % 3]} {i}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_train_then_analyze_reviews_stores_reports_and_prints_figures(tmp_path):
    trained = runner.invoke(app, ["train", "reviews", str(_labelled(tmp_path / "labelled.csv")), "--json"])
    assert trained.exit_code == 0, trained.output
    result = json.loads(trained.stdout.strip().splitlines()[-1])
    assert result["reviews"] == "v0001" and result["metrics"]["holdout"]["accuracy"] >= 0.9
    assert set(result["metrics"]["holdout"]["per_product"]) == {"衣服", "手机"}

    reviews = tmp_path / "new.jsonl"
    reviews.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "物流很快，但是质量太差", "product": "耳机", "date": "2026-11-28"},
        {"text": "great quality", "product": "耳机", "date": "2026-11-29"},
        {"text": "", "product": "耳机"}]) + "\n{oops\n", encoding="utf-8")
    out = tmp_path / "report"
    analyzed = runner.invoke(app, ["analyze", "reviews", str(reviews), "--out", str(out), "--json"])
    assert analyzed.exit_code == 0, analyzed.output
    figures = json.loads(analyzed.stdout.strip().splitlines()[-1])
    assert (figures["batch"], figures["reviews"], figures["skipped"], figures["model"]) == (1, 2, 2, "reviews/v0001")
    assert figures["negative_share_by_aspect"] == {"delivery": 0.0, "quality": 0.5}
    assert (out / "report.md").is_file() and (out / "sentiment_by_product.png").is_file()
    assert "物流很快，但是质量太差" in (out / "report.md").read_text(encoding="utf-8")

    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    checked = runner.invoke(app, ["alerts", "check"])
    assert checked.exit_code == 0 and "no new spike" in checked.stdout


def test_a_wrong_file_is_a_clear_error_not_a_traceback(tmp_path):
    (tmp_path / "r.txt").write_text("hello", encoding="utf-8")
    result = runner.invoke(app, ["analyze", "reviews", str(tmp_path / "r.txt")])
    assert result.exit_code == 1 and "expected a .csv, .tsv or .jsonl" in result.output
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("review\n好\n差\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "reviews", str(unlabelled)])
    assert result.exit_code == 1 and "at least two sentiments" in result.output and "Traceback" not in result.output
