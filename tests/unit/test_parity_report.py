"""Reports: valid JUnit XML, and an HTML page whose embedded images decode."""
import base64
import io
from html.parser import HTMLParser
from xml.etree import ElementTree as ET

import numpy as np
from PIL import Image

from mobilekit.core.config import Tolerance
from mobilekit.parity.compare import compare_outputs, not_run
from mobilekit.parity.report import ReportEntry, write_reports


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.stack, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def _entries():
    rng = np.random.default_rng(0)
    inputs = {"image": rng.random((2, 8, 8, 3), dtype=np.float32), "clicks": rng.random((2, 8, 8, 2), dtype=np.float32)}
    reference = {"mask": rng.random((2, 8, 8, 1), dtype=np.float32)}
    candidate = {"mask": reference["mask"] + np.float32(0.01)}
    failed = compare_outputs(reference, candidate, Tolerance(max_abs=1e-4), target="tflite", precision="fp32", runner="litert")
    skipped = not_run("coreml", "fp16", Tolerance(min_psnr=40), "needs macOS")
    return [ReportEntry("android/m.tflite", failed, inputs, reference, candidate), ReportEntry("ios/m.mlpackage", skipped)]


def test_reports_are_written_and_valid(tmp_path):
    paths = write_reports(_entries(), tmp_path)
    suite = ET.parse(paths["junit"]).getroot()
    assert suite.get("failures") == "1" and suite.get("skipped") == "1" and int(suite.get("tests")) == 4
    parser = _Collector()
    parser.feed(paths["html"].read_text())
    assert not parser.errors and not parser.stack
    # 2 cases x (2 inputs + reference + candidate + heatmap)
    assert len(parser.images) == 10
    for img in parser.images:
        prefix, data = img["src"].split(",", 1)
        assert prefix == "data:image/png;base64"
        assert Image.open(io.BytesIO(base64.b64decode(data))).size == (8, 8)
    text = paths["html"].read_text()
    assert "failed" in text and "not_run" in text and "needs macOS" in text
    assert '"android/m.tflite"' in paths["json"].read_text()
