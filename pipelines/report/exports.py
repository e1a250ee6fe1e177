"""The exports section: the files ready to upload (ported from the old page)."""

from __future__ import annotations

from pipelines.report.sections import ReportInputs, Section, render_part

TITLE = "Exports ready to upload"


def section(inputs: ReportInputs) -> Section | None:
    files = inputs.manifest.get("files", [])
    warnings = inputs.manifest.get("warnings", [])
    if not files and not warnings:
        return None
    return Section(key="exports", title="Exports ready to upload", order=99,
                   html=render_part("exports.html.j2", exports=files, warnings=warnings))
