#!/usr/bin/env python3
"""Turns the shared benchmark corpus (make_corpus.py's plain front-matter copy) into
Một Cửa's content format, so that our generator builds the same pages Hugo and Zola do.

Usage: python3 bench/convert_corpus.py CORPUS_DIR/hugo/content/procedures OUT_CONTENT_DIR
The site.yaml and holidays.yaml of the real content/ are copied along.
"""
import os
import re
import shutil
import sys

TYPES = {"text": "text", "textarea": "textarea", "date": "date", "select": "select",
         "tel": "phone", "email": "email", "number": "number", "file": "file"}


def q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse(text):
    """The corpus front matter is a known, flat shape: parse it without a YAML library."""
    _, fm, body = text.split("---\n", 2)
    meta, key, form, cur = {}, None, [], None
    for line in fm.splitlines():
        if line.startswith("  - name: "):
            cur = {"name": line[10:].strip('"')}
            form.append(cur)
        elif line.startswith("    ") and cur is not None:
            k, v = line.strip().split(": ", 1)
            cur[k] = v.strip('"')
        elif line.startswith("  - "):
            meta[key].append(line[4:].strip('"').replace('\\"', '"'))
        else:
            k, _, v = line.partition(":")
            key = k
            meta[k] = v.strip().strip('"') if v.strip() else []
    meta["form"] = form
    return meta, body


def convert(meta, body):
    level = int(meta["level"])
    fields = [f for f in meta["form"]]
    ids = {f["name"] for f in fields}
    if "ho_ten" not in ids:
        fields.insert(0, {"name": "ho_ten", "label": "Họ, chữ đệm và tên", "type": "text", "required": "true"})
    if "so_dien_thoai" not in ids:
        fields.append({"name": "so_dien_thoai", "label": "Số điện thoại liên hệ", "type": "tel", "required": "true"})
    out = ["---",
           "code: " + q(meta["code"]),
           "title: " + q(meta["title"]),
           "slug: " + q(meta["slug"]),
           "field: " + q(meta["field"]),
           "level: %d" % level,
           "summary: " + q(meta["title"]),
           "authority: " + q("Ủy ban nhân dân xã"),
           "processing:",
           "  working_days: %s" % meta["processing_days"],
           "  text: " + q("%s ngày làm việc" % meta["processing_days"]),
           "fee:",
           "  text: " + q(meta["fee"]),
           "legal_basis:"] + ["  - " + q(x) for x in meta["legal_basis"]] + [
           # Every procedure names where its facts were checked (required since 2026-12).
           "sources:"] + ["  - { document: %s }" % q(x) for x in meta["legal_basis"][:1]] + ["documents:"]
    for d in meta["documents"]:
        out += ["  - name: " + q(d), "    kind: original"]
    out += ["result: " + q("Kết quả giải quyết thủ tục"),
            "delivery: [desk%s]" % (", post" if level == 4 else ""),
            "reviewed: 2025-01-01",
            "form:",
            "  contact:",
            "    name: ho_ten",
            "    phone: so_dien_thoai",
            "  sections:",
            "    - title: " + q("Thông tin người yêu cầu"),
            "      fields:"]
    for f in fields:
        kind = TYPES[f["type"]]
        out += ["        - id: " + f["name"], "          label: " + q(f["label"]),
                "          type: " + kind, "          required: " + f.get("required", "false")]
        if kind == "select":
            out += ["          options:", "            - { value: a, label: Lựa chọn A }",
                    "            - { value: b, label: Lựa chọn B }"]
    out.append("---")
    body = re.sub(r"\]\(/procedures/", "](/thu-tuc/", body)
    return "\n".join(out) + "\n" + body


def main():
    src, dst = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    real = os.path.join(here, "..", "content")
    os.makedirs(os.path.join(dst, "procedures"), exist_ok=True)
    for name in ("site.yaml", "holidays.yaml"):
        shutil.copy(os.path.join(real, name), os.path.join(dst, name))
    for name in sorted(os.listdir(src)):
        if not name.endswith(".md") or name.startswith("_"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as fh:
            meta, body = parse(fh.read())
        with open(os.path.join(dst, "procedures", name), "w", encoding="utf-8") as fh:
            fh.write(convert(meta, body))


if __name__ == "__main__":
    main()
