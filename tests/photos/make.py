"""Makes the photos the event-photo tests send (run once; the files are committed).

Pillow, an encoder independent of gridmap, writes a JPEG, a PNG and a WebP of sizes the tests
expect gridmap to read back from the bytes: python3 tests/photos/make.py (pip install pillow).
"""

from pathlib import Path

from PIL import Image, ImageDraw

here = Path(__file__).parent
for name, size, fmt in [
    ("street.jpg", (640, 480), "JPEG"),
    ("sign.png", (120, 90), "PNG"),
    ("bin.webp", (300, 200), "WEBP"),
]:
    img = Image.new("RGB", size, (200, 180, 120))
    d = ImageDraw.Draw(img)
    d.rectangle([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(30, 60, 160))
    d.line([0, 0, size[0], size[1]], fill=(0, 0, 0), width=3)
    img.save(here / name, fmt, quality=80)
