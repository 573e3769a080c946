"""A review batch's report: `report.md` with PNG charts (sentiment per product, per aspect, over time)
and the most negative reviews, written from a batch's `ReviewStats`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from assistant.reviews import ReviewStats

MOODS = ("negative", "neutral", "positive")
COLORS = {"negative": "#dc2626", "neutral": "#a8a29e", "positive": "#16a34a"}
TOP = 15


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    # Product names and aspects may be Chinese: use a CJK font when the system has one (Debian: fonts-noto-cjk).
    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name]
    plt.rcParams["font.sans-serif"] = sorted(set(cjk), key=lambda n: "Sans" not in n)[:1] + ["DejaVu Sans"]
    return plt


def _top(groups: dict[str, Counter], n: int = TOP) -> list[tuple[str, Counter]]:
    return sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:n]


def plot_shares(groups: dict[str, Counter], path: Path, title: str) -> bool:
    """Horizontal bars of each group's sentiment shares, most reviewed first; False when there is nothing to plot."""
    rows = _top(groups)
    if not rows:
        return False
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 1.2 + 0.42 * len(rows)))
    names = [f"{name} ({sum(c.values())})" for name, c in rows][::-1]
    left = [0.0] * len(rows)
    for mood in MOODS:
        if not any(c[mood] for _, c in rows):
            continue  # no neutral reviews: no neutral in the legend
        shares = [c[mood] / max(sum(c.values()), 1) for _, c in rows][::-1]
        axes.barh(names, shares, left=left, color=COLORS[mood], label=mood)
        left = [a + b for a, b in zip(left, shares)]
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of reviews")
    axes.set_title(title, pad=22)
    # Above the bars, not over them.
    axes.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def plot_over_time(by_day: dict, path: Path, title: str) -> bool:
    """Reviews per day (bars) and the negative share (line); False without dated reviews."""
    if not by_day:
        return False
    plt = _pyplot()
    days = sorted(by_day)
    totals = [sum(by_day[d].values()) for d in days]
    shares = [by_day[d]["negative"] / t if t else 0.0 for d, t in zip(days, totals)]
    figure, volume = plt.subplots(figsize=(9, 3.6))
    volume.bar(days, totals, color="#fed7aa", label="reviews per day")
    volume.set_ylabel("reviews")
    share = volume.twinx()
    share.plot(days, shares, color=COLORS["negative"], marker="o" if len(days) < 40 else None, label="negative share")
    share.set_ylim(0, 1)
    share.set_ylabel("negative share")
    volume.set_title(title)
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _table(groups: dict[str, Counter], header: str, stats: ReviewStats) -> list[str]:
    lines = [f"| {header} | reviews | negative | negative share |", "|---|---:|---:|---:|"]
    for name, counts in _top(groups, 30):
        lines.append(f"| {name.replace('|', '/')} | {sum(counts.values())} | {counts['negative']} | "
                     f"{stats.negative_share(counts):.1%} |")
    return lines


def write_report(stats: ReviewStats, folder: Path, *, title: str, skipped: int = 0, problems: list[str] | None = None,
                 model: str | None = None, seconds: float | None = None) -> Path:
    """Write `report.md` and its charts into `folder`; returns the markdown file's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"# Review analysis: {title}", ""]
    share = {mood: stats.sentiments[mood] / stats.total if stats.total else 0.0 for mood in MOODS}
    lines.append(f"{stats.total} reviews analysed" + (f", {skipped} rows skipped" if skipped else "")
                 + (f", read with `{model}`" if model else "") + (f", in {seconds:.1f} s" if seconds else "") + ".")
    lines.append("")
    lines.append(" · ".join(f"{mood} {stats.sentiments[mood]} ({share[mood]:.1%})" for mood in MOODS))
    for chart, groups, header in (("sentiment_by_product.png", stats.by_product, "product"),
                                  ("sentiment_by_aspect.png", stats.by_aspect, "aspect")):
        lines += ["", f"## Sentiment per {header}", ""]
        shown = f" (the {TOP} most reviewed)" if len(groups) > TOP else ""
        if plot_shares(groups, folder / chart, f"Sentiment per {header}{shown}"):
            lines += [f"![sentiment per {header}]({chart})", ""] + _table(groups, header, stats)
        else:
            lines.append(f"No {header} in these reviews" + (" (no product column and no catalog product named)."
                                                            if header == "product" else "."))
    lines += ["", "## Over time", ""]
    if plot_over_time(stats.by_day, folder / "sentiment_over_time.png", "Reviews per day and their negative share"):
        lines.append("![sentiment over time](sentiment_over_time.png)")
    else:
        lines.append("The reviews carry no dates.")
    if stats.negative_mentions:
        lines += ["", "## Products named in negative reviews", ""]
        lines += [f"- {name}: {count}" for name, count in stats.negative_mentions.most_common(10)]
    lines += ["", "## The most negative reviews", ""]
    for score, text, product in stats.most_negative:
        quoted = " ".join(text.split()).replace("|", "/")
        lines.append(f"- **{score:.2f}**" + (f" ({product})" if product else "") + f": {quoted}")
    if problems:
        lines += ["", "## Rows skipped", ""] + [f"- {p}" for p in problems]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
