#!/usr/bin/env python3
"""Vẽ ba ảnh minh họa cho tin ảnh mẫu (không phải ảnh chụp thật).

Không chạy trong lúc dựng trang. Chạy tay khi cần vẽ lại:

    pip install pillow
    apt-get install -y fonts-dejavu-core
    python3 content/media/make_media.py

Kết quả: ba tệp JPEG 1600×1000 bên cạnh tệp này, mỗi tệp dưới 300 KB, góc dưới có
dòng chữ "Ảnh minh họa". Xã dùng phần mềm nên thay bằng ảnh thật của mình.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parent
W, H = 1600, 1000
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

SKY = (222, 236, 246)
WALL = (246, 241, 228)
FLOOR = (196, 168, 130)
WOOD = (150, 98, 56)
WOOD_DARK = (112, 72, 40)
RED = (200, 38, 38)
YELLOW = (250, 210, 60)
BLUE = (34, 94, 168)
GREEN = (46, 140, 86)
INK = (40, 44, 52)
SKIN = (232, 190, 150)
WHITE = (255, 255, 255)
GREY = (150, 156, 166)


def font(size, bold=False):
    return ImageFont.truetype(BOLD if bold else FONT, size)


def caption(img, text="Ảnh minh họa"):
    d = ImageDraw.Draw(img, "RGBA")
    f = font(30)
    box = d.textbbox((0, 0), text, font=f)
    w, h = box[2] - box[0], box[3] - box[1]
    x, y = W - w - 40, H - h - 40
    d.rounded_rectangle((x - 16, y - 12, x + w + 16, y + h + 18), 10, fill=(0, 0, 0, 150))
    d.text((x, y), text, font=f, fill=WHITE)


def person(d, cx, base, shirt, hair=INK, seated=False, hat=None):
    """A simple person: head, body, arms."""
    body_top = base - (230 if seated else 330)
    d.rounded_rectangle((cx - 70, body_top, cx + 70, base), 40, fill=shirt)
    d.ellipse((cx - 52, body_top - 120, cx + 52, body_top - 10), fill=SKIN)
    d.chord((cx - 54, body_top - 126, cx + 54, body_top - 30), 180, 360, fill=hair)
    if hat:
        d.ellipse((cx - 90, body_top - 110, cx + 90, body_top - 80), fill=hat)
        d.polygon([(cx - 60, body_top - 100), (cx, body_top - 170), (cx + 60, body_top - 100)], fill=hat)


def desk_scene():
    img = Image.new("RGB", (W, H), WALL)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 700, W, H), fill=FLOOR)
    # Banner.
    d.rectangle((250, 60, 1350, 190), fill=RED)
    f = font(58, bold=True)
    text = "BỘ PHẬN MỘT CỬA"
    tw = d.textlength(text, font=f)
    d.text(((W - tw) / 2, 90), text, font=f, fill=YELLOW)
    # Notice board with forms.
    d.rectangle((80, 260, 420, 600), fill=WOOD_DARK)
    for i, (x, y) in enumerate([(110, 290), (260, 290), (110, 450), (260, 450)]):
        d.rectangle((x, y, x + 130, y + 130), fill=WHITE)
        for k in range(5):
            d.line((x + 15, y + 25 + k * 20, x + 115, y + 25 + k * 20), fill=GREY, width=4)
    d.text((120, 610), "Thủ tục hành chính", font=font(30), fill=INK)
    # Officer behind the desk.
    person(d, 880, 640, BLUE, seated=True)
    # Desk.
    d.rectangle((560, 560, 1240, 620), fill=WOOD)
    d.rectangle((600, 620, 1200, 860), fill=WOOD_DARK)
    # Monitor.
    d.rectangle((1010, 400, 1200, 530), fill=INK)
    d.rectangle((1022, 412, 1188, 518), fill=(120, 180, 230))
    d.rectangle((1090, 530, 1120, 560), fill=INK)
    # Papers on the desk.
    d.polygon([(700, 545), (820, 535), (830, 565), (705, 575)], fill=WHITE)
    # Citizen in front of the desk, seen from the side.
    person(d, 1380, 900, GREEN, hair=(60, 50, 40), hat=(210, 190, 120))
    # Number ticket display.
    d.rounded_rectangle((1260, 250, 1520, 360), 12, fill=INK)
    d.text((1290, 270), "Số: 015", font=font(56, bold=True), fill=(255, 90, 60))
    caption(img)
    return img


def phone_scene():
    img = Image.new("RGB", (W, H), SKY)
    d = ImageDraw.Draw(img)
    # Hand-held phone.
    d.rounded_rectangle((560, 70, 1040, 960), 60, fill=INK)
    d.rounded_rectangle((590, 150, 1010, 880), 16, fill=WHITE)
    d.ellipse((780, 95, 820, 120), fill=GREY)
    # Form on the screen.
    d.rectangle((590, 150, 1010, 240), fill=RED)
    d.text((615, 170), "Nộp hồ sơ trực tuyến", font=font(30, bold=True), fill=WHITE)
    y = 270
    for label, star in [("Họ và tên", True), ("Số Căn cước", True), ("Số điện thoại", True), ("Thư điện tử", False)]:
        d.text((615, y), label + (" *" if star else ""), font=font(26), fill=INK)
        d.rounded_rectangle((615, y + 38, 985, y + 92), 8, outline=GREY, width=3)
        y += 120
    # Attachment row with a photo icon.
    d.rounded_rectangle((615, 760, 985, 820), 8, fill=(232, 240, 250), outline=BLUE, width=3)
    d.rectangle((635, 772, 680, 808), outline=BLUE, width=3)
    d.text((700, 775), "Đính kèm ảnh giấy tờ", font=font(24), fill=BLUE)
    d.rounded_rectangle((700, 830, 900, 872), 20, fill=GREEN)
    d.text((748, 836), "Gửi hồ sơ", font=font(24, bold=True), fill=WHITE)
    # Paper birth certificate being photographed.
    d.polygon([(120, 620), (470, 560), (520, 900), (170, 960)], fill=WHITE, outline=GREY)
    for k in range(6):
        d.line((190 + k * 4, 680 + k * 40, 450 + k * 4, 635 + k * 40), fill=GREY, width=5)
    # SMS bubbles.
    d.rounded_rectangle((1110, 200, 1540, 330), 24, fill=WHITE)
    d.text((1135, 222), "Hồ sơ đã được tiếp nhận.", font=font(24), fill=INK)
    d.text((1135, 262), "Hẹn trả: 16:00 hôm nay", font=font(24, bold=True), fill=GREEN)
    d.rounded_rectangle((1110, 380, 1540, 510), 24, fill=WHITE)
    d.text((1135, 402), "Kết quả đã sẵn sàng.", font=font(24), fill=INK)
    d.text((1135, 442), "Mời ông/bà đến nhận.", font=font(24, bold=True), fill=BLUE)
    caption(img)
    return img


def calendar_scene():
    img = Image.new("RGB", (W, H), WALL)
    d = ImageDraw.Draw(img)
    # Wall calendar.
    d.rectangle((300, 80, 1300, 900), fill=WHITE, outline=GREY, width=4)
    d.rectangle((300, 80, 1300, 220), fill=RED)
    title = "THÁNG 7 – 2025"
    f = font(60, bold=True)
    d.text(((W - d.textlength(title, font=f)) / 2, 110), title, font=f, fill=WHITE)
    days = ["T2", "T3", "T4", "T5", "T6", "T7", "CN"]
    cw = 1000 / 7
    for i, name in enumerate(days):
        colour = RED if name in ("T7", "CN") else INK
        d.text((300 + i * cw + 45, 240), name, font=font(32, bold=True), fill=colour)
    # July 2025 starts on a Tuesday.
    first = 1
    day = 1
    for row in range(5):
        for col in range(7):
            index = row * 7 + col
            if index < first or day > 31:
                continue
            x, y = 300 + col * cw + 40, 310 + row * 115
            colour = RED if col >= 5 else INK
            if day == 15:
                d.ellipse((x - 28, y - 18, x + 92, y + 80), outline=GREEN, width=8)
            d.text((x, y), str(day), font=font(44), fill=colour)
            day += 1
    # Note.
    d.rounded_rectangle((1080, 690, 1560, 890), 16, fill=YELLOW)
    d.text((1105, 715), "Ngày hẹn trả kết quả", font=font(28, bold=True), fill=INK)
    d.text((1105, 765), "Không tính thứ Bảy,", font=font(26), fill=INK)
    d.text((1105, 805), "Chủ nhật, ngày lễ", font=font(26), fill=INK)
    caption(img)
    return img


def save(img, name):
    path = OUT / name
    img.save(path, "JPEG", quality=82, optimize=True, progressive=True)
    size = path.stat().st_size
    assert size < 300 * 1024, f"{name} is {size} bytes"
    print(f"{name}: {size} bytes")


if __name__ == "__main__":
    save(desk_scene(), "mot-cua-quay-tiep-nhan.jpg")
    save(phone_scene(), "nop-ho-so-tren-dien-thoai.jpg")
    save(calendar_scene(), "lich-hen-tra-ket-qua.jpg")
