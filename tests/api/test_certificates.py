"""Certificates: a PDF in Simplified Chinese per person and period (rendered to PNG and read back
with poppler's pdftoppm and pdftotext), verified at a public endpoint by an unguessable code,
revoked, issued in batches as one ZIP; the CJK font found at run time or named by a setting."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.errors import ServiceUnavailable
from api.services import certificate_pdf
from tests.api.conftest import Api, assert_error
from tests.api.data import at, request, volunteer
from tests.api.test_assignments import assignments, published
from tests.api.test_erasure import complete

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def university_with_service(api: Api) -> tuple[dict[str, str], dict[str, str], list[int]]:
    """西北大学, whose two students (张三丰, 李四) served three requests of 2.5 h, 1.5 h and 2 h
    in March 2026 (at the center 雁塔区志愿服务站; at most 4 h each, so both serve); their ids."""
    r = api.client.post(
        "/v1/organizations", json={"name": "西北大学", "kind": "university"}, headers=api.admin
    )
    uni = {"Authorization": f"Bearer {r.json()['api_key']['secret']}"}
    center_r = api.client.post(
        "/v1/organizations", json={"name": "雁塔区志愿服务站", "kind": "center"}, headers=api.admin
    )
    center = {"Authorization": f"Bearer {center_r.json()['api_key']['secret']}"}
    rows = [
        volunteer("2023001", name="张三丰", max_hours=4),
        volunteer("2023002", name="李四", max_hours=4),
    ]
    ids = [
        v["id"]
        for v in api.client.post("/v1/volunteers/import", json=rows, headers=uni).json()[
            "volunteers"
        ]
    ]
    api.client.post(
        "/v1/requests",
        json=[
            request("智能手机课堂", start=at("09:00"), end=at("11:30")),
            request("敬老院陪伴", start=at("13:00"), end=at("14:30")),
            request("社区义诊引导", start=at("15:00"), end=at("17:00")),
        ],
        headers=center,
    )
    published(api, center)
    for a in assignments(api, center):
        hours = {"智能手机课堂": 2.5, "敬老院陪伴": 1.5, "社区义诊引导": 2.0}[a["request"]["title"]]
        complete(api, uni, center, a, hours)
    return uni, center, ids


def issue(api: Api, headers: dict[str, str], volunteer_id: int, **period: str) -> Any:
    return api.client.post(
        "/v1/certificates",
        json={"volunteer_id": volunteer_id, **(period or PERIOD)},
        headers=headers,
    )


def pdf_text(pdf: bytes, folder: Path) -> str:
    path = folder / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.database_independent
def test_a_certificate_pdf_reads_back_in_chinese_with_its_hours_and_code(
    api: Api, tmp_path: Path
) -> None:
    uni, _, ids = university_with_service(api)
    hours = {
        v["volunteer_id"]: v["hours"]
        for v in api.client.get("/v1/reports/hours", params=PERIOD, headers=uni).json()[
            "volunteers"
        ]
    }
    holder = max(ids, key=lambda v: hours.get(v, 0))
    r = issue(api, uni, holder)
    assert r.status_code == 201, r.text
    issued = r.json()
    assert issued["hours"] == hours[holder] and issued["from"] == "2026-03-01"
    assert re.fullmatch(r"([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}", issued["code"])
    assert issued["verify_url"].endswith(f"/v1/certificates/verify/{issued['code']}")
    pdf = api.client.get(f"/v1/certificates/{issued['id']}/pdf", headers=uni)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content, tmp_path)
    name = ("张三丰", "李四")[ids.index(holder)]
    for expected in (
        "志愿服务时长证明",
        name,
        "西北大学",
        "雁塔区志愿服务站",
        "2026年3月1日",
        "2026年3月31日",
        f"{hours[holder]:g} 小时",
        issued["code"],
        "验证网址",
    ):
        assert expected in text, (expected, text)
    # and it is a page a person can read: poppler renders it to a PNG
    png = tmp_path / "page"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-singlefile",
            str(tmp_path / "certificate.pdf"),
            str(png),
        ],
        check=True,
    )
    image = (tmp_path / "page.png").read_bytes()
    assert image.startswith(b"\x89PNG") and len(image) > 20_000  # not a blank page


def test_verification_needs_no_key_and_tells_valid_revoked_and_unknown(api: Api) -> None:
    uni, _, ids = university_with_service(api)
    issued = issue(api, uni, ids[0]).json()
    code = issued["code"]
    seen = api.client.get(f"/v1/certificates/verify/{code}")  # no key
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["status"] == "valid" and body["organization"] == "西北大学"
    assert body["hours"] == issued["hours"] and (body["from"], body["to"]) == (
        "2026-03-01",
        "2026-03-31",
    )
    assert body["holder"] in ("张**", "李*")  # the first character only
    assert "2023001" not in seen.text and "+86" not in seen.text
    # typed by hand: lower case, no dashes, O for zero
    typed = code.lower().replace("-", "").replace("0", "o")
    assert api.client.get(f"/v1/certificates/verify/{typed}").json()["status"] == "valid"
    revoked = api.client.post(
        f"/v1/certificates/{issued['id']}/revoke", json={"reason": "issued in error"}, headers=uni
    )
    assert revoked.json()["revoked_reason"] == "issued in error"
    after = api.client.get(f"/v1/certificates/verify/{code}").json()
    assert after["status"] == "revoked" and after["revoked_at"]
    assert_error(
        api.client.post(
            f"/v1/certificates/{issued['id']}/revoke", json={"reason": "x"}, headers=uni
        ),
        409,
    )
    for unknown in (
        "AAAA-BBBB-CCCC-DDDD",
        "not-a-code",
        code[:-1] + ("X" if code[-1] != "X" else "Y"),
    ):
        body = assert_error(api.client.get(f"/v1/certificates/verify/{unknown}"), 404, "not_found")
        assert "verification code" in body["detail"]


def test_a_certificate_outlives_its_holders_erasure_under_the_pseudonym(
    api: Api, tmp_path: Path
) -> None:
    uni, _, ids = university_with_service(api)
    issued = issue(api, uni, ids[1]).json()
    api.client.delete(f"/v1/volunteers/{ids[1]}", headers=uni)
    body = api.client.get(f"/v1/certificates/verify/{issued['code']}").json()
    assert body["status"] == "valid" and body["holder"].startswith("anon-")
    text = pdf_text(
        api.client.get(f"/v1/certificates/{issued['id']}/pdf", headers=uni).content, tmp_path
    )
    assert body["holder"] in text and "李四" not in text and "2023002" not in text


def test_certificates_need_hours_in_the_period_and_the_owners_volunteer(api: Api) -> None:
    uni, _, ids = university_with_service(api)
    _, other = api.org("university")
    empty = assert_error(issue(api, uni, ids[0], **{"from": "2026-04-01", "to": "2026-04-30"}), 409)
    assert "no completed hours" in empty["detail"]
    assert_error(issue(api, other, ids[0]), 404)
    backwards = assert_error(
        issue(api, uni, ids[0], **{"from": "2026-03-31", "to": "2026-03-01"}), 422
    )
    assert backwards["fields"][0]["loc"] == ["body", "to"]
    listed = api.client.get("/v1/certificates", headers=uni).json()["items"]
    assert listed == []  # nothing was issued by the refused calls
    issue(api, uni, ids[0])
    assert len(api.client.get("/v1/certificates", headers=uni).json()["items"]) == 1
    assert api.client.get("/v1/certificates", headers=other).json()["items"] == []
    assert len(api.client.get("/v1/certificates", headers=api.admin).json()["items"]) == 1


@pytest.mark.database_independent
def test_a_batch_is_one_zip_of_pdfs_with_a_manifest_for_excel(api: Api, tmp_path: Path) -> None:
    uni, _, ids = university_with_service(api)
    idle = api.client.post(
        "/v1/volunteers", json=volunteer("2023009", name="王五"), headers=uni
    ).json()
    r = api.client.post("/v1/certificates/batch", json=PERIOD, headers=uni)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    pdfs = sorted(n for n in archive.namelist() if n.endswith(".pdf"))
    assert len(pdfs) == 2  # the two who served; not the idle one
    manifest = archive.read("manifest.csv").decode("utf-8")
    assert manifest.startswith("\ufeff证书ID")
    rows = list(csv.DictReader(io.StringIO(manifest.removeprefix("\ufeff"))))
    assert {row["姓名"] for row in rows} == {"张三丰", "李四"}
    assert sum(float(row["服务时长（小时）"]) for row in rows) == 6.0
    for row in rows:
        text = pdf_text(archive.read(row["文件"]), tmp_path)
        assert row["姓名"] in text and row["验证码"] in text
    issued = api.client.get("/v1/certificates", headers=uni).json()["items"]
    assert sorted(c["volunteer_id"] for c in issued) == sorted(ids)
    assert idle["id"] not in {c["volunteer_id"] for c in issued}
    audit = api.client.get("/v1/audit", params={"entity_type": "certificate"}, headers=uni).json()
    assert [e["action"] for e in audit["items"]] == ["issued", "issued"]


def test_the_hours_stay_on_one_line_with_their_unit_wherever_the_sentence_wraps(
    tmp_path: Path,
) -> None:
    """Names of every length move the line break through the sentence; it never falls between
    the figure and 小时 (a certificate once read "2.25" at a line's end and "小时" below)."""
    docs = [
        certificate_pdf.CertificateText(
            holder="张三丰",
            number="2023001",
            organization="西北大学" + "志" * length,
            first_day=date(2026, 12, 9),
            last_day=date(2026, 12, 10),
            hours=12.25,
            services=[],
            issued_on=date(2026, 12, 11),
            code="T8FN-H1PK-DT7V-5KZW",
            verify_url="http://127.0.0.1:8000/v1/certificates/verify/T8FN-H1PK-DT7V-5KZW",
        )
        for length in range(30)
    ]
    pdfs = certificate_pdf.render(docs, certificate_pdf.find_font(None))
    texts = [pdf_text(pdf, tmp_path) for pdf in pdfs]
    assert all("12.25 小时" in text for text in texts), [t for t in texts if "12.25 小时" not in t]


@pytest.mark.database_independent
def test_the_font_comes_from_the_setting_or_the_system_or_a_clear_error(
    api: Api, monkeypatch: Any, tmp_path: Path
) -> None:
    found = certificate_pdf.find_font(None)
    assert found.path.is_file()
    assert certificate_pdf.find_font(str(found.path)) == found
    with pytest.raises(ServiceUnavailable) as missing:
        certificate_pdf.find_font(str(tmp_path / "none.ttf"))
    assert "VOLMATCH_CERTIFICATE_FONT" in str(missing.value)
    # no font anywhere: the PDF endpoint answers 503 saying how to get one
    uni, _, ids = university_with_service(api)
    issued = issue(api, uni, ids[0]).json()
    monkeypatch.setattr(certificate_pdf, "NOTO_CJK", ())
    monkeypatch.setattr(certificate_pdf, "_fontconfig_chinese", lambda: None)
    body = assert_error(
        api.client.get(f"/v1/certificates/{issued['id']}/pdf", headers=uni), 503, "unavailable"
    )
    assert "fonts-noto-cjk" in body["detail"]
