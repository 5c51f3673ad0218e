"""Drift reports for people (text) and for CI (JUnit XML: one test case per operation)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mockserver.recording.verify import Report


def report_text(report: Report) -> str:
    """A readable summary: drift per operation, conforming operations, uncovered requests, inferred contracts."""
    lines = [
        f"mockserver verify: {report.interactions} interactions in {report.cassettes} cassettes,"
        f" {len(report.operations)} operations"
    ]
    lines.extend(f"ERROR  {e}" for e in report.errors)
    for op in sorted(report.operations.values(), key=lambda o: (o.ok, o.operation)):
        status = "OK   " if op.ok else "DRIFT"
        lines.append(f"{status}  {op.operation} ({op.family}, {op.confidence}): {op.interactions} interactions")
        lines.extend(f"       {d.line()}" for d in sorted(op.drift.values(), key=lambda d: (d.kind, d.where, d.path)))
    for label, count in sorted(report.uncovered.items()):
        lines.append(f"NOTE   no contract covers {label} ({count} interactions)")
    if report.confirmed_inferred:
        lines.append("inferred contracts confirmed by the recordings: " + ", ".join(report.confirmed_inferred))
    if report.contradicted_inferred:
        lines.append("inferred contracts the recordings contradict: " + ", ".join(report.contradicted_inferred))
    findings = report.drift
    verdict = "no drift" if report.ok else f"{len(findings)} drift findings" + (", errors" if report.errors else "")
    lines.append(f"result: {verdict}")
    return "\n".join(lines) + "\n"


def report_junit(report: Report) -> str:
    """JUnit XML: a failing test case per drifting operation, a passing one per conforming operation."""
    failures = sum(1 for op in report.operations.values() if not op.ok)
    suite = ET.Element(
        "testsuite",
        name="mockserver.verify",
        tests=str(len(report.operations) + len(report.uncovered) + len(report.errors)),
        failures=str(failures),
        errors=str(len(report.errors)),
        skipped=str(len(report.uncovered)),
    )
    for op in sorted(report.operations.values(), key=lambda o: o.operation):
        case = ET.SubElement(suite, "testcase", classname=f"mockserver.verify.{op.family}", name=op.operation)
        ET.SubElement(case, "system-out").text = f"{op.interactions} interactions, confidence {op.confidence}"
        if not op.ok:
            kinds = sorted({d.kind for d in op.drift.values()})
            failure = ET.SubElement(case, "failure", message=f"{op.operation}: {', '.join(kinds)}", type="drift")
            failure.text = "\n".join(d.line() for d in op.drift.values())
    for label, count in sorted(report.uncovered.items()):
        case = ET.SubElement(suite, "testcase", classname="mockserver.verify.uncovered", name=label)
        ET.SubElement(case, "skipped", message=f"no contract covers {label} ({count} interactions)")
    for n, error in enumerate(report.errors):
        case = ET.SubElement(suite, "testcase", classname="mockserver.verify.cassettes", name=f"cassette-{n}")
        ET.SubElement(case, "error", message=error)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
