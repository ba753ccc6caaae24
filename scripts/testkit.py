"""What the Python test scripts share: ports, waiting, the ALTCHA proof of work, and a
citizen's filled form for the level-4 extract (trích lục) of content/."""

import base64
import hashlib
import json
import socket
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port, proc, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} stopped while starting (exit {proc.returncode})")
        if port_is_open(port):
            return
        time.sleep(0.2)
    sys.exit(f"{what} did not listen on {port} within {seconds} s")


def solve(challenge):
    """The ALTCHA proof of work, as the form's worker does it."""
    for n in range(challenge["maxnumber"] + 1):
        if hashlib.sha256(f"{challenge['salt']}{n}".encode()).hexdigest() == challenge["challenge"]:
            solution = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
            solution["number"] = n
            return base64.b64encode(json.dumps(solution).encode()).decode()
    raise ValueError("unsolvable challenge")


# The level-4 extract (trích lục) of content/, filled as a citizen would, no attachment.
EXTRACT_CODE = "2.000635"
EXTRACT = {
    "ho_ten_nguoi_yeu_cau": "Nguyễn Văn Thử",
    "ngay_sinh_nguoi_yeu_cau": "1990-05-12",
    "so_dinh_danh": "064090000123",
    "dien_thoai": "0912345678",
    "noi_cu_tru": {"detail": "Thôn Plei Ia", "commune": "Xã Ia Pết", "province": "Gia Lai"},
    "quan_he": "ban_than",
    "loai_trich_luc": "khai_sinh",
    "ho_ten_nguoi_co_ten": "Nguyễn Văn Thử",
    "ngay_sinh_nguoi_co_ten": "1990-05-12",
    "noi_dang_ky": "UBND xã Ia Pết",
    "so_ban_sao": "1",
    "nhan_ket_qua": "tai_xa",
    "thanh_toan": "khi_nhan",
    "cam_doan": "true",
}
