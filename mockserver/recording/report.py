"""What `mockserver verify` found (`Report`, `OperationReport`, `Drift`), and its forms for people (text)
and for CI (JUnit XML: one test case per operation)."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET


@dataclasses.dataclass
class Drift:
    """One kind of disagreement at one place of one operation, with how often and where it was first seen."""

    operation: str
    kind: str
    where: str
    path: str
    message: str
    source: str
    count: int = 1

    def line(self) -> str:
        at = f" {self.path}" if self.path else ""
        times = f" ({self.count}x)" if self.count > 1 else ""
        return f"{self.kind:24} {self.where}{at}: {self.message}{times} [first: {self.source}]"


@dataclasses.dataclass
class OperationReport:
    """Interactions recorded for one operation and the drift they show."""

    operation: str
    family: str
    confidence: str
    interactions: int = 0
    drift: dict[tuple[str, str, str], Drift] = dataclasses.field(default_factory=dict)
    # Recorded media per link field: "content type + size class" -> how many.
    media: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.drift


@dataclasses.dataclass
class Report:
    """The result of `verify_paths`: per-operation drift, uncovered requests and unreadable cassettes."""

    operations: dict[str, OperationReport] = dataclasses.field(default_factory=dict)
    uncovered: dict[str, int] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)
    cassettes: int = 0
    interactions: int = 0

    @property
    def drift(self) -> list[Drift]:
        return [d for op in self.operations.values() for d in op.drift.values()]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.drift

    @property
    def confirmed_inferred(self) -> list[str]:
        """`inferred` contracts that recorded traffic exercised without any drift."""
        return sorted(op.operation for op in self.operations.values() if op.confidence == "inferred" and op.ok)

    @property
    def contradicted_inferred(self) -> list[str]:
        return sorted(op.operation for op in self.operations.values() if op.confidence == "inferred" and not op.ok)

    def to_text(self) -> str:
        return report_text(self)

    def to_junit_xml(self) -> str:
        return report_junit(self)


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
        for field, seen in sorted(op.media.items()):
            kinds = ", ".join(f"{label} x{n}" for label, n in sorted(seen.items()))
            lines.append(f"       media {field}: {kinds}")
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
