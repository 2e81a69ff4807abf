"""``index.html`` of a bench folder: each (prompt, seed) as a row, each method's video and search tree
side by side, the report tables and the metric-vs-compute plot on top. Links are relative, so the
folder can be moved or served as is."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

from streamt1.outputs.atomic import atomic_write_text
from streamt1.outputs.bench_report import column_sources, format_metric
from streamt1.outputs.naming import output_paths

HTML_PAGE = "index.html"

_STYLE = """body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:12px}
video,img.tree{width:256px}.prompt{max-width:240px}"""


def _url(*parts: str) -> str:
    return "/".join(quote(p) for p in parts)


def _cell(method: str, record: Mapping[str, Any] | None, out: Path) -> str:
    if record is None:
        return "<td>missing</td>"
    stem = record["stem"]
    parts = [f'<video controls preload="none" src="{_url(method, record["video"])}"></video>']
    tree = output_paths(out / method, stem)["tree"]
    if tree.is_file():
        parts.append(f'<img class="tree" loading="lazy" alt="search tree" src="{_url(method, tree.name)}">')
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(record.get("metrics", {}).items()))
    parts.append(f"<div>{html.escape(metrics)}</div>")
    return "<td>" + "<br>".join(parts) + "</td>"


def _summary_table(summary: Mapping[str, Any]) -> str:
    metrics = summary["metrics"]
    head = "".join(f"<th>{html.escape(m)}</th>" for m in ["method", "videos", *metrics])
    rows = []
    for method, row in summary["methods"].items():
        cells = [method, str(row["videos"])]
        for metric in metrics:
            cells.append(format_metric(metric, row["metrics"].get(metric), of=row["videos"]))
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    sources = "".join(f"<li>{html.escape(text.replace('`', ''))}</li>" for text in column_sources(metrics))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table><ul>{sources}</ul>"


def write_html(out: Path, records: Mapping[str, Mapping[str, Mapping[str, Any]]],
               summary: Mapping[str, Any]) -> Path:
    """records: method -> item key -> result record (see ``bench_report.load_records``)."""
    methods = list(records)
    items = sorted({key for rs in records.values() for key in rs},
                   key=lambda k: tuple(int(p) for p in k.split(":")))
    head = "".join(f"<th>{html.escape(m)}</th>" for m in ["prompt", *methods])
    rows = []
    for key in items:
        first = next(rs[key] for rs in records.values() if key in rs)
        prompt = html.escape(f"#{first['prompt_index']} seed {first['seed']}: {first['eval_prompt']}")
        cells = "".join(_cell(m, records[m].get(key), out) for m in methods)
        rows.append(f'<tr><td class="prompt">{prompt}</td>{cells}</tr>')
    page = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>stream-t1 bench: "
            f"{html.escape(str(summary['suite']))}</title><style>{_STYLE}</style></head><body>"
            f"<h1>Suite {html.escape(str(summary['suite']))}</h1>{_summary_table(summary)}"
            f'<p><img alt="metric vs compute" src="compute.png"></p>'
            f"<table><tr>{head}</tr>{''.join(rows)}</table></body></html>\n")
    path = out / HTML_PAGE
    atomic_write_text(path, page)
    return path
