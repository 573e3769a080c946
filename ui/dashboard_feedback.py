"""The dashboard's Reviews and Alerts tabs: upload a review file and read its report; see the spikes of
negative messages and reviews the alert check found, and run one now."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import pandas as pd

from assistant import reviews, store
from assistant.alerts import AlertRule, list_alerts, run_check
from assistant.errors import EXPECTED_ERRORS
from assistant.pipeline import Assistant
from ui.review_analysis import analyse_reviews, sentiment_reader
from ui.review_report import write_report

log = logging.getLogger(__name__)
CHARTS = ("sentiment_by_product.png", "sentiment_by_aspect.png", "sentiment_over_time.png")
ALERT_COLUMNS = ["when (UTC)", "source", "scope", "key", "window negative", "baseline negative", "p-value", "webhook"]
PRIVATE = {"api_visibility": "private"}


def batch_choices(assistant: Assistant) -> list[tuple[str, int]]:
    with store.transaction(assistant.engine) as session:
        return [(f"#{b.id} {b.name} · {b.rows} reviews · {b.status} · {b.created_at:%Y-%m-%d %H:%M}", b.id)
                for b in reviews.list_batches(session)]


def batch_view(assistant: Assistant, batch_id: int | None) -> tuple[str, list[str | None]]:
    """(the report's text without its image lines, the chart paths) of a batch."""
    if batch_id is None:
        return "_No review batch yet: upload a CSV or JSON Lines file of reviews · 尚无评论批次_", [None] * len(CHARTS)
    with store.transaction(assistant.engine) as session:
        batch = session.get(reviews.ReviewBatch, int(batch_id))
        folder = Path(batch.report_dir) if batch and batch.report_dir else None
        status = (batch.status, batch.error) if batch else ("missing", None)
    if status[0] == "failed":
        return f"**This batch failed:** {status[1]}", [None] * len(CHARTS)
    if status[0] == "running":
        return "_This batch is still being analysed._", [None] * len(CHARTS)
    if folder is None or not (folder / "report.md").is_file():
        folder = rebuild_report(assistant, int(batch_id))
    # The charts are shown below the text; their markdown links would point nowhere in the page.
    text = "\n".join(line if not line.startswith("![") else "_(chart below · 图表见下方)_"
                     for line in (folder / "report.md").read_text(encoding="utf-8").splitlines())
    return text, [str(folder / c) if (folder / c).is_file() else None for c in CHARTS]


def rebuild_report(assistant: Assistant, batch_id: int) -> Path:
    """Write a batch's report again from its stored reviews (its folder was removed or never written)."""
    folder = assistant.settings.home / "reports" / "reviews" / f"batch-{batch_id:05d}"
    with store.transaction(assistant.engine) as session:
        batch = session.get(reviews.ReviewBatch, batch_id)
        stats = reviews.batch_stats(session, batch_id=batch_id)
        write_report(stats, folder, title=batch.name, skipped=batch.skipped, model=batch.model)
        reviews.set_report(session, batch_id=batch_id, report_dir=str(folder))
    return folder


def upload_reviews(assistant: Assistant, upload: str, progress=None) -> int:
    """Analyse an uploaded file as a new batch; returns its id."""
    runtime = assistant.runtime
    reader = sentiment_reader(assistant.settings, runtime.knowledge, embedder=lambda: runtime.retriever.embedder,
                              router=runtime.router)
    path = Path(upload)
    try:
        analysis = analyse_reviews(assistant.settings, assistant.engine, runtime.knowledge, path, reader=reader,
                                   name=path.name, progress=progress)
    finally:
        # The upload holds the reviews unmasked: once analysed (or refused) it is deleted, not left in Gradio's cache.
        path.unlink(missing_ok=True)
    for alert in analysis.alerts:
        gr.Warning(f"Alert: negative reviews of {alert.scope} {alert.key}: {alert.window_negative}/{alert.window_total}")
    return analysis.result.batch_id


def alerts_frame(assistant: Assistant) -> pd.DataFrame:
    with store.transaction(assistant.engine) as session:
        rows = [[a.created_at.strftime("%Y-%m-%d %H:%M"), a.source, a.scope, a.key,
                 f"{a.window_negative}/{a.window_total} ({a.window_negative / max(a.window_total, 1):.0%})",
                 f"{a.baseline_negative}/{a.baseline_total} ({a.baseline_negative / max(a.baseline_total, 1):.0%})",
                 f"{a.p_value:.2g}", a.webhook or ""] for a in list_alerts(session)]
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)


def reviews_tab(assistant: Assistant, page: gr.Blocks) -> None:
    with gr.Tab("Reviews · 商品评论"):
        gr.Markdown("Upload product reviews (CSV or JSON Lines with a text column; product, date and rating "
                    "columns optional). Each review's sentiment, aspects and product mentions are stored and "
                    "reported. · 上传评论文件（CSV/JSONL）进行分析。")
        with gr.Row():
            upload = gr.File(label="Review file · 评论文件", file_types=[".csv", ".tsv", ".jsonl"], type="filepath")
            batch = gr.Dropdown(label="Batch · 批次", choices=[], value=None)
        report = gr.Markdown()
        # One chart per row, at full width: three side by side shrink their labels past reading.
        charts = [gr.Image(show_label=False, interactive=False, type="filepath", buttons=["download"])
                  for _ in CHARTS]

        def load():
            choices = batch_choices(assistant)
            first = choices[0][1] if choices else None
            text, images = batch_view(assistant, first)
            return gr.update(choices=choices, value=first), text, *images

        def show(batch_id):
            text, images = batch_view(assistant, batch_id)
            return text, *images

        def analyse(path, progress=gr.Progress()):
            unchanged = (gr.update(), gr.update(), *[gr.update()] * len(CHARTS))
            if not path:
                return unchanged
            try:
                batch_id = upload_reviews(assistant, path, lambda done, total: progress(done / max(total, 1),
                                                                                        desc="Analysing reviews"))
            except EXPECTED_ERRORS as exc:
                gr.Warning(f"Not analysed: {exc}")
                return unchanged
            text, images = batch_view(assistant, batch_id)
            return gr.update(choices=batch_choices(assistant), value=batch_id), text, *images

        upload.upload(analyse, [upload], [batch, report, *charts], **PRIVATE)
        batch.input(show, [batch], [report, *charts], **PRIVATE)
        page.load(load, None, [batch, report, *charts], **PRIVATE)


def alerts_tab(assistant: Assistant, page: gr.Blocks) -> None:
    with gr.Tab("Alerts · 预警"):
        gr.Markdown("A spike is a significant rise of the negative share for one intent, product or aspect: the "
                    f"last {assistant.settings.alert_window_hours:g} h against the "
                    f"{assistant.settings.alert_baseline_days:g} days before, one-sided Fisher exact test, "
                    "Bonferroni-corrected over the keys tested. · 负面情绪显著上升时预警。")
        table = gr.Dataframe(headers=ALERT_COLUMNS, interactive=False, wrap=True, label="Alerts, newest first")
        check = gr.Button("Check now · 立即检查", size="sm")

        def check_now():
            try:
                found = run_check(assistant.engine, rule=AlertRule.from_settings(assistant.settings),
                                  webhook_url=assistant.settings.alert_webhook_url)
            except EXPECTED_ERRORS as exc:
                gr.Warning(str(exc))
                return gr.update()
            gr.Info(f"{len(found)} new alert(s)" if found else "No new spike")
            return alerts_frame(assistant)

        check.click(check_now, None, [table], **PRIVATE)
        page.load(lambda: alerts_frame(assistant), None, [table], **PRIVATE)
