"""The device's report hash (pwa/static/js/report_hash.js, run under node) gives the same bytes
and the same SHA-256 as the shared test vectors (sync-protocol §4)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "pwa" / "static" / "js" / "report_hash.js"
VECTORS = ROOT / "tests" / "vectors" / "report_hash.json"

RUNNER = r"""
const RH = require(process.argv[1]);
const vectors = require(process.argv[2]);
(async () => {
  const reports = [];
  for (const v of vectors.reports) {
    const i = v.input;
    const order = {id: i.work_order_id, outcome: i.outcome, work_done: i.work_done, parts: i.parts,
                   labour: i.labour, payments: (i.payments_cents || []).map(c => ({amount_cents: c}))};
    const record = RH.buildReport(order, i.signer_name);
    reports.push({name: v.name, canonical: RH.canonicalJson(record), sha256: await RH.reportSha256(record),
                  direct: await RH.reportSha256(v.record)});
  }
  const qty = vectors.qty.map(q => RH.normaliseQty(q.input));
  const invalid = vectors.qty_invalid.map(q => { try { RH.normaliseQty(q); return "accepted"; } catch (e) { return "refused"; } });
  process.stdout.write(JSON.stringify({reports, qty, invalid}));
})();
"""


@pytest.fixture(scope="module")
def computed():
    node = shutil.which("node")
    assert node, "node is needed to run the device's script"
    out = subprocess.run([node, "-e", RUNNER, str(SCRIPT), str(VECTORS)], capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


def vectors():
    return json.loads(VECTORS.read_text(encoding="utf-8"))


def test_every_report_vector_gives_the_same_bytes_and_hash(computed):
    expected = vectors()["reports"]
    assert len(computed["reports"]) == len(expected) >= 1
    for got, want in zip(computed["reports"], expected):
        assert got["canonical"] == want["canonical"], want["name"]
        assert got["sha256"] == want["sha256"], want["name"]
        assert got["direct"] == want["sha256"], want["name"]


def test_quantities_are_shortened_like_the_server(computed):
    assert computed["qty"] == [q["canonical"] for q in vectors()["qty"]]


def test_strings_that_are_not_quantities_are_refused(computed):
    assert computed["invalid"] == ["refused"] * len(vectors()["qty_invalid"])
