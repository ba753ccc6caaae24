#!/usr/bin/env python3
"""Tạo các tờ khai mẫu (PDF) cho mức độ 2: tải về, in ra, điền tay.

Đây là BẢN MẪU để tham khảo, dựng lại theo các ô của tờ khai ban hành kèm Thông tư
04/2020/TT-BTP, được sửa đổi bởi Thông tư 04/2024/TT-BTP. Nó không thay thế mẫu chính
thức: mỗi trang đều ghi rõ điều đó. Khi có mẫu chính thức (DOCX/PDF) do Bộ Tư pháp
công bố, xã nên thay các tệp này bằng mẫu chính thức, giữ nguyên tên tệp.

Không chạy trong lúc dựng trang. Chạy tay khi cần sửa mẫu:

    pip install reportlab
    apt-get install -y fonts-dejavu-core
    python3 content/forms/make_forms.py

Kết quả: các tệp to-khai-*.pdf bên cạnh tệp này, mỗi tệp dưới 100 KB.
"""

from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
pdfmetrics.registerFont(TTFont("DejaVu", str(FONT_DIR / "DejaVuSans.ttf")))
pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(FONT_DIR / "DejaVuSans-Bold.ttf")))
pdfmetrics.registerFont(TTFont("DejaVu-Oblique", str(FONT_DIR / "DejaVuSans-Oblique.ttf")))

OUT = Path(__file__).resolve().parent
PAGE_W, PAGE_H = A4
LEFT = 20 * mm
RIGHT = PAGE_W - 18 * mm
TOP = PAGE_H - 15 * mm
BOTTOM = 18 * mm
SIZE = 10.5
LEAD = 6.3 * mm
SAMPLE_NOTE = "Bản mẫu để tham khảo — dùng mẫu chính thức tại Trung tâm Phục vụ hành chính công xã"

PLEDGE = (
    "Tôi cam đoan nội dung đề nghị trên đây là đúng sự thật và chịu hoàn toàn trách nhiệm "
    "trước pháp luật về lời cam đoan của mình."
)


class Sheet:
    """One form, drawn top to bottom with automatic page breaks."""

    def __init__(self, filename: str, title: str, subject: str):
        self.path = OUT / filename
        self.c = canvas.Canvas(str(self.path), pagesize=A4, pageCompression=1)
        self.c.setTitle(title)
        self.c.setSubject(subject)
        self.c.setAuthor("Ủy ban nhân dân xã Ia Pết (bản mẫu)")
        self.c.setCreator("content/forms/make_forms.py")
        self.title = title
        self.page = 1
        self.y = TOP
        self._frame()

    # Page furniture -----------------------------------------------------------
    def _frame(self):
        c = self.c
        # The sample note, boxed, at the top of every page.
        c.setStrokeGray(0.35)
        c.setFillGray(0.93)
        c.rect(LEFT, TOP - 7 * mm, RIGHT - LEFT, 8.5 * mm, stroke=1, fill=1)
        c.setFillGray(0)
        c.setFont("DejaVu-Bold", 9.5)
        c.drawCentredString((LEFT + RIGHT) / 2, TOP - 4.2 * mm, SAMPLE_NOTE)
        # Footer.
        c.setFont("DejaVu", 8)
        c.setFillGray(0.3)
        c.drawString(LEFT, 12 * mm, f"{self.title} — {SAMPLE_NOTE}")
        c.drawRightString(RIGHT, 12 * mm, f"Trang {self.page}")
        c.setFillGray(0)
        self.y = TOP - 14 * mm

    def need(self, height: float):
        if self.y - height < BOTTOM:
            self.c.showPage()
            self.page += 1
            self._frame()

    # Text helpers -------------------------------------------------------------
    def wrap(self, text: str, font: str, size: float, width: float) -> list[str]:
        words, lines, line = text.split(), [], ""
        for w in words:
            trial = f"{line} {w}".strip()
            if pdfmetrics.stringWidth(trial, font, size) <= width:
                line = trial
            else:
                lines.append(line)
                line = w
        if line:
            lines.append(line)
        return lines

    def centred(self, text: str, font="DejaVu-Bold", size=SIZE, gap=5.5 * mm):
        self.need(gap)
        self.c.setFont(font, size)
        self.c.drawCentredString((LEFT + RIGHT) / 2, self.y, text)
        self.y -= gap

    def paragraph(self, text: str, font="DejaVu", size=SIZE, indent=0.0):
        for line in self.wrap(text, font, size, RIGHT - LEFT - indent):
            self.need(5.6 * mm)
            self.c.setFont(font, size)
            self.c.drawString(LEFT + indent, self.y, line)
            self.y -= 5.6 * mm

    def heading(self, text: str):
        self.y -= 1.5 * mm
        self.paragraph(text, font="DejaVu-Bold")

    def dots(self, x0: float, x1: float, y: float):
        self.c.setFont("DejaVu", SIZE)
        dot_w = pdfmetrics.stringWidth(".", "DejaVu", SIZE)
        n = int((x1 - x0) / dot_w)
        if n > 0:
            self.c.setFillGray(0.45)
            self.c.drawString(x1 - n * dot_w, y, "." * n)
            self.c.setFillGray(0)

    def field(self, label: str, extra_lines: int = 0, x0: float = LEFT, x1: float = RIGHT):
        """A label followed by a dotted line to the right edge, plus blank dotted lines."""
        self.need(LEAD * (1 + extra_lines))
        self.c.setFont("DejaVu", SIZE)
        self.c.drawString(x0, self.y, label)
        start = x0 + pdfmetrics.stringWidth(label + " ", "DejaVu", SIZE)
        self.dots(start, x1, self.y)
        self.y -= LEAD
        for _ in range(extra_lines):
            self.dots(x0, x1, self.y)
            self.y -= LEAD

    def fields_row(self, labels: list[str]):
        """Several short fields on one line, sharing the width."""
        self.need(LEAD)
        width = (RIGHT - LEFT) / len(labels)
        for i, label in enumerate(labels):
            x0 = LEFT + i * width
            self.c.setFont("DejaVu", SIZE)
            self.c.drawString(x0, self.y, label)
            start = x0 + pdfmetrics.stringWidth(label + " ", "DejaVu", SIZE)
            self.dots(start, x0 + width - 2 * mm, self.y)
        self.y -= LEAD

    def boxes(self, label: str, options: list[str]):
        """A label and tick boxes: □ Có  □ Không."""
        self.need(LEAD)
        c = self.c
        c.setFont("DejaVu", SIZE)
        c.drawString(LEFT, self.y, label)
        x = LEFT + pdfmetrics.stringWidth(label + "  ", "DejaVu", SIZE)
        for opt in options:
            c.rect(x, self.y - 0.6 * mm, 3.4 * mm, 3.4 * mm)
            c.drawString(x + 5 * mm, self.y, opt)
            x += 5 * mm + pdfmetrics.stringWidth(opt + "     ", "DejaVu", SIZE)
        self.y -= LEAD

    def two_columns(self, left_title: str, right_title: str, labels: list[str]):
        """A two-column table (bride / groom): label, then a dotted cell per side."""
        c = self.c
        label_w = 48 * mm
        col_w = (RIGHT - LEFT - label_w) / 2
        self.need(LEAD * 2)
        c.setFont("DejaVu-Bold", SIZE)
        c.drawCentredString(LEFT + label_w + col_w / 2, self.y, left_title)
        c.drawCentredString(LEFT + label_w + col_w * 1.5, self.y, right_title)
        self.y -= LEAD
        for label in labels:
            lines = self.wrap(label, "DejaVu", SIZE - 0.5, label_w - 2 * mm)
            h = max(LEAD, len(lines) * 4.6 * mm + 2.8 * mm)
            self.need(h)
            c.setFont("DejaVu", SIZE - 0.5)
            for i, line in enumerate(lines):
                c.drawString(LEFT, self.y - i * 4.6 * mm, line)
            base = self.y - (len(lines) - 1) * 4.6 * mm
            self.dots(LEFT + label_w, LEFT + label_w + col_w - 3 * mm, base)
            self.dots(LEFT + label_w + col_w + 1 * mm, RIGHT, base)
            self.y -= h

    # Common blocks ------------------------------------------------------------
    def header(self, title: str, subtitle: str | None = None):
        self.centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=11)
        self.centred("Độc lập – Tự do – Hạnh phúc", size=10.5, gap=3 * mm)
        self.c.line((LEFT + RIGHT) / 2 - 28 * mm, self.y, (LEFT + RIGHT) / 2 + 28 * mm, self.y)
        self.y -= 9 * mm
        self.centred(title, size=13.5, gap=6.5 * mm)
        if subtitle:
            self.centred(subtitle, font="DejaVu-Oblique", size=9.5)
        self.y -= 3 * mm
        self.field("Kính gửi: (1)")

    def requester(self, relation: str | None):
        self.heading("Thông tin người yêu cầu")
        self.field("Họ, chữ đệm, tên:")
        self.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
        self.field("Số định danh cá nhân (2):")
        self.field("Giấy tờ tùy thân khác (nếu không có số định danh):")
        self.field("Nơi cư trú (3):", extra_lines=1)
        self.fields_row(["Số điện thoại:", "Thư điện tử:"])
        if relation:
            self.field(relation)

    def copies(self):
        self.boxes("Đề nghị cấp bản sao (4):", ["Có", "Không"])
        self.field("Nếu có, số lượng bản sao:")

    def pledge_and_signature(self, signers: list[str]):
        self.y -= 1 * mm
        self.paragraph(PLEDGE, font="DejaVu-Oblique")
        self.y -= 2 * mm
        self.need(30 * mm)
        c = self.c
        c.setFont("DejaVu-Oblique", SIZE)
        c.drawRightString(RIGHT, self.y, "Làm tại: ......................, ngày ...... tháng ...... năm ..........")
        self.y -= 8 * mm
        width = (RIGHT - LEFT) / len(signers)
        for i, who in enumerate(signers):
            x = LEFT + width * i + width / 2
            c.setFont("DejaVu-Bold", SIZE)
            c.drawCentredString(x, self.y, who)
            c.setFont("DejaVu-Oblique", 9)
            c.drawCentredString(x, self.y - 4.8 * mm, "(Ký, ghi rõ họ, chữ đệm, tên)")
        self.y -= 22 * mm

    def notes(self, extra: list[str]):
        base = [
            "(1) Ghi tên cơ quan đăng ký, ví dụ: Ủy ban nhân dân xã Ia Pết, tỉnh Gia Lai.",
            "(2) Số định danh cá nhân là 12 chữ số in trên thẻ Căn cước hoặc Căn cước công dân.",
            "(3) Ghi nơi thường trú; nếu không có thì ghi nơi tạm trú; không có cả hai thì ghi nơi đang sinh sống.",
            "(4) Đánh dấu X vào ô chọn. Bản sao trích lục nộp lệ phí theo quy định.",
        ]
        self.need(12 * mm)
        self.c.setLineWidth(0.4)
        self.c.line(LEFT, self.y + 2 * mm, LEFT + 50 * mm, self.y + 2 * mm)
        self.y -= 2 * mm
        self.paragraph("Chú thích:", font="DejaVu-Bold", size=8)
        for note in base + extra:
            self.paragraph(note, size=8)

    def save(self):
        self.c.showPage()
        self.c.save()
        size = self.path.stat().st_size
        assert size < 100 * 1024, f"{self.path.name} is {size} bytes"
        print(f"{self.path.name}: {size} bytes, {self.page} page(s)")


def khai_sinh():
    s = Sheet("to-khai-dang-ky-khai-sinh.pdf", "Tờ khai đăng ký khai sinh", "Thủ tục 1.001193")
    s.header("TỜ KHAI ĐĂNG KÝ KHAI SINH")
    s.requester("Quan hệ với người được khai sinh:")
    s.heading("Đề nghị đăng ký khai sinh cho người dưới đây")
    s.field("Họ, chữ đệm, tên:")
    s.field("Ngày, tháng, năm sinh (ghi bằng số):")
    s.field("Ghi bằng chữ:")
    s.fields_row(["Giới tính:", "Dân tộc:", "Quốc tịch:"])
    s.field("Nơi sinh (5):", extra_lines=1)
    s.field("Quê quán:")
    s.heading("Cha, mẹ của người được khai sinh")
    s.field("Họ, chữ đệm, tên người mẹ:")
    s.fields_row(["Năm sinh:", "Dân tộc:", "Quốc tịch:"])
    s.field("Nơi cư trú:")
    s.field("Họ, chữ đệm, tên người cha:")
    s.fields_row(["Năm sinh:", "Dân tộc:", "Quốc tịch:"])
    s.field("Nơi cư trú:")
    s.copies()
    s.pledge_and_signature(["Người yêu cầu"])
    s.notes([
        "(5) Ghi tên cơ sở y tế nơi trẻ sinh ra và địa danh hành chính; nếu sinh ngoài cơ sở y tế thì ghi địa danh nơi sinh.",
        "Kèm theo tờ khai: Giấy chứng sinh (hoặc văn bản của người làm chứng, hoặc giấy cam đoan về việc sinh).",
    ])
    s.save()


def khai_tu():
    s = Sheet("to-khai-dang-ky-khai-tu.pdf", "Tờ khai đăng ký khai tử", "Thủ tục 1.000656")
    s.header("TỜ KHAI ĐĂNG KÝ KHAI TỬ")
    s.requester("Quan hệ với người đã chết:")
    s.heading("Đề nghị đăng ký khai tử cho người có tên dưới đây")
    s.field("Họ, chữ đệm, tên:")
    s.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
    s.fields_row(["Dân tộc:", "Quốc tịch:"])
    s.field("Số định danh cá nhân hoặc giấy tờ tùy thân:")
    s.field("Nơi cư trú cuối cùng:", extra_lines=1)
    s.field("Đã chết vào lúc: ...... giờ ...... phút, ngày ...... tháng ...... năm")
    s.field("Nơi chết:", extra_lines=1)
    s.field("Nguyên nhân chết:")
    s.field("Số Giấy báo tử hoặc giấy tờ thay thế (5):")
    s.fields_row(["Ngày cấp:", "Cơ quan cấp:"])
    s.copies()
    s.pledge_and_signature(["Người yêu cầu"])
    s.notes([
        "(5) Giấy báo tử do bệnh viện, cơ quan có thẩm quyền cấp; nếu không có thì ghi giấy tờ thay thế (ví dụ văn bản xác nhận của người làm chứng).",
        "Thời hạn đi khai tử: trong 15 ngày kể từ ngày người thân mất.",
    ])
    s.save()


def ket_hon():
    s = Sheet("to-khai-dang-ky-ket-hon.pdf", "Tờ khai đăng ký kết hôn", "Thủ tục 1.000894")
    s.header("TỜ KHAI ĐĂNG KÝ KẾT HÔN", "Hai bên có thể cùng khai chung một tờ khai này")
    s.heading("Thông tin của hai bên")
    s.two_columns("Bên nữ", "Bên nam", [
        "Họ, chữ đệm, tên",
        "Ngày, tháng, năm sinh",
        "Dân tộc",
        "Quốc tịch",
        "Số định danh cá nhân (2)",
        "Giấy tờ tùy thân khác (nếu không có số định danh)",
        "Nơi cư trú (3)",
        "Số điện thoại",
        "Kết hôn lần thứ mấy",
    ])
    s.paragraph(
        "Chúng tôi cam đoan đã tìm hiểu kỹ về nhau, hoàn toàn tự nguyện kết hôn, đủ điều kiện "
        "kết hôn theo Luật Hôn nhân và gia đình, không vi phạm các điều cấm của luật.",
        font="DejaVu-Oblique",
    )
    s.y -= 1.5 * mm
    s.copies()
    s.pledge_and_signature(["Bên nữ", "Bên nam"])
    s.notes([
        "Khi nhận Giấy chứng nhận kết hôn, cả hai bên phải có mặt và cùng ký.",
        "Từ năm 2025, công dân cư trú trong nước không phải nộp Giấy xác nhận tình trạng hôn nhân: cơ quan đăng ký tự tra cứu.",
    ])
    s.save()


def trich_luc():
    s = Sheet("to-khai-cap-ban-sao-trich-luc-ho-tich.pdf", "Tờ khai cấp bản sao trích lục hộ tịch", "Thủ tục 2.000635")
    s.header("TỜ KHAI CẤP BẢN SAO TRÍCH LỤC HỘ TỊCH")
    s.requester("Quan hệ với người được cấp bản sao trích lục:")
    s.heading("Đề nghị cấp bản sao trích lục")
    s.boxes("Loại trích lục (4):", ["Khai sinh", "Khai tử", "Kết hôn", "Khác: ........"])
    s.heading("Cho người có tên dưới đây")
    s.field("Họ, chữ đệm, tên:")
    s.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
    s.fields_row(["Dân tộc:", "Quốc tịch:"])
    s.field("Số định danh cá nhân hoặc giấy tờ tùy thân:")
    s.field("Nơi cư trú:", extra_lines=1)
    s.heading("Sự kiện hộ tịch đã được đăng ký")
    s.field("Tại cơ quan (5):")
    s.fields_row(["Ngày đăng ký:", "Số:", "Quyển số:"])
    s.field("Số lượng bản sao đề nghị cấp:")
    s.boxes("Cách nhận kết quả:", ["Tại Trung tâm Phục vụ HCC xã", "Qua bưu điện"])
    s.field("Địa chỉ nhận qua bưu điện:", extra_lines=1)
    s.pledge_and_signature(["Người yêu cầu"])
    s.notes([
        "(5) Ghi tên cơ quan đã đăng ký việc hộ tịch (ví dụ Ủy ban nhân dân xã, huyện cũ). Không nhớ số, quyển số thì để trống.",
        "Lệ phí: 8.000 đồng cho mỗi bản sao trích lục (Thông tư 281/2016/TT-BTC).",
    ])
    s.save()


def tinh_trang_hon_nhan():
    s = Sheet("to-khai-cap-giay-xac-nhan-tinh-trang-hon-nhan.pdf", "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân", "Thủ tục 1.004873")
    s.header("TỜ KHAI CẤP GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN")
    s.requester("Quan hệ với người được cấp Giấy xác nhận:")
    s.heading("Đề nghị cấp Giấy xác nhận tình trạng hôn nhân cho người có tên dưới đây")
    s.field("Họ, chữ đệm, tên:")
    s.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
    s.fields_row(["Dân tộc:", "Quốc tịch:"])
    s.field("Số định danh cá nhân hoặc giấy tờ tùy thân:")
    s.field("Nơi cư trú:", extra_lines=1)
    s.field("Trong thời gian cư trú tại (5):")
    s.field("Từ ngày ...... tháng ...... năm ........ đến ngày ...... tháng ...... năm")
    s.field("Tình trạng hôn nhân (6):", extra_lines=1)
    s.field("Mục đích sử dụng Giấy xác nhận (7):", extra_lines=1)
    s.field("Số lượng Giấy xác nhận đề nghị cấp:")
    s.pledge_and_signature(["Người yêu cầu"])
    s.notes([
        "(5) Chỉ ghi khi cần xác nhận tình trạng hôn nhân trong một thời gian ở nơi cư trú trước đây.",
        "(6) Ví dụ: chưa kết hôn lần nào; đã ly hôn theo bản án/quyết định số ...; vợ (chồng) đã chết năm ...; đang có vợ (chồng) là ...",
        "(7) Ví dụ: để kết hôn (ghi họ tên, ngày sinh, nơi cư trú của người dự định kết hôn), để mua bán nhà đất, để đi làm việc ở nước ngoài.",
        "Giấy xác nhận có giá trị 6 tháng kể từ ngày cấp.",
    ])
    s.save()


def giam_ho():
    s = Sheet("to-khai-dang-ky-giam-ho.pdf", "Tờ khai đăng ký giám hộ", "Thủ tục 1.004837")
    s.header("TỜ KHAI ĐĂNG KÝ GIÁM HỘ")
    s.heading("Người giám hộ (người yêu cầu)")
    s.field("Họ, chữ đệm, tên:")
    s.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
    s.fields_row(["Dân tộc:", "Quốc tịch:"])
    s.field("Số định danh cá nhân (2) hoặc giấy tờ tùy thân:")
    s.field("Nơi cư trú (3):", extra_lines=1)
    s.fields_row(["Số điện thoại:", "Thư điện tử:"])
    s.heading("Người được giám hộ")
    s.field("Họ, chữ đệm, tên:")
    s.fields_row(["Ngày, tháng, năm sinh:", "Giới tính:"])
    s.fields_row(["Dân tộc:", "Quốc tịch:"])
    s.field("Nơi sinh:")
    s.field("Số định danh cá nhân hoặc giấy tờ tùy thân:")
    s.field("Nơi cư trú:", extra_lines=1)
    s.field("Quan hệ giữa người giám hộ và người được giám hộ:")
    s.boxes("Hình thức giám hộ (4):", ["Giám hộ cử", "Giám hộ đương nhiên"])
    s.field("Lý do đăng ký giám hộ (5):", extra_lines=1)
    s.copies()
    s.pledge_and_signature(["Người yêu cầu"])
    s.notes([
        "(5) Ví dụ: cha mẹ đều đã chết; người chưa thành niên không còn cha mẹ chăm sóc; người mất năng lực hành vi dân sự.",
        "Kèm theo tờ khai: văn bản cử người giám hộ (giám hộ cử), hoặc giấy tờ chứng minh đủ điều kiện giám hộ đương nhiên; nếu có nhiều người cùng đủ điều kiện thì kèm văn bản thỏa thuận cử một người.",
    ])
    s.save()


if __name__ == "__main__":
    khai_sinh()
    khai_tu()
    ket_hon()
    trich_luc()
    tinh_trang_hon_nhan()
    giam_ho()
