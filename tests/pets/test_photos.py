"""Photo uploads through the real upload view: hostile files are refused with a readable
message and leave nothing behind; good photos lose their metadata, are square, honour the
crop box (in upright pixels) and keep exactly one primary photo per pet."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from pawfile.pets.models import Pet, Photo
from tests.conftest import Cast
from tests.pets.conftest import image_bytes, jpeg_upload, media_files

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(side: int = 20000) -> bytes:
    """A one-bit black PNG of ``side``×``side`` pixels: 400 megapixels in a few kilobytes."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def truncated_jpeg() -> bytes:
    noise = Image.frombytes("RGB", (256, 256), os.urandom(256 * 256 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=90)
    data = out.getvalue()
    return data[: len(data) // 2]


def a_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("rex.jpg", image_bytes())
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)

HOSTILE = {
    "text renamed .jpg": ("notes.jpg", lambda: b"This is not a picture.\n" * 20, "not an image"),
    "truncated JPEG": ("cut.jpg", truncated_jpeg, "not an image, or it is damaged"),
    "20000x20000 PNG": ("bomb.png", huge_png, "too many pixels"),
    "SVG with script": ("cute.svg", lambda: SVG, "SVG images are not accepted"),
    "zip": ("photos.zip", a_zip, "not an image"),
    "empty file": ("empty.jpg", lambda: b"", "The file is empty."),
    "over 15 MB": (
        "big.jpg",
        lambda: b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 1024 * 1024 + 16),
        "larger than 15 MB",
    ),
}


def upload_url(pet: Pet) -> str:
    return f"/pets/{pet.pk}/photos/new/"


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_upload_is_refused_and_nothing_is_stored(cast: Cast, pet: Pet, case: str) -> None:
    name, make, message = HOSTILE[case]
    client = cast.client_for("alice")
    upload = SimpleUploadedFile(name, make(), content_type="image/jpeg")
    response = client.post(upload_url(pet), {"image": upload})
    assert 400 <= response.status_code < 500
    assert message in response.content.decode()
    assert not Photo.objects.exists()
    assert media_files() == []


@pytest.mark.parametrize("case", ["text renamed .jpg", "SVG with script", "empty file"])
def test_hostile_upload_by_script_gets_json_errors(cast: Cast, pet: Pet, case: str) -> None:
    name, make, message = HOSTILE[case]
    response = cast.client_for("bob").post(
        upload_url(pet),
        {"image": SimpleUploadedFile(name, make())},
        headers={"X-Requested-With": "XMLHttpRequest"},
    )
    assert response.status_code == 400
    assert any(message in error for error in response.json()["errors"])
    assert not Photo.objects.exists()
    assert media_files() == []


def test_upload_without_a_file_says_so(cast: Cast, pet: Pet) -> None:
    response = cast.client_for("alice").post(upload_url(pet), {"caption": "x"})
    assert response.status_code == 400
    assert "Choose a photo." in response.content.decode()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # camera make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 40.0)}
    data = image_bytes((300, 200), exif=exif.tobytes())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the source has GPS
    return data


def test_stored_variants_have_no_metadata_and_are_square(cast: Cast, pet: Pet) -> None:
    response = cast.client_for("alice").post(
        upload_url(pet), {"image": jpeg_upload("gps.jpg", jpeg_with_gps()), "caption": "Park"}
    )
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert photo.caption == "Park"
    files = media_files()
    assert len(files) == 6  # thumb, card, full × WebP, JPEG
    for path in files:
        data = path.read_bytes()
        assert b"SpyCam" not in data
        with Image.open(path) as stored:
            assert len(stored.getexif()) == 0
            assert stored.width == stored.height
    assert str(photo.key) in files[0].name


def halves(size: tuple[int, int], first: tuple[int, int, int], second: tuple[int, int, int]):
    """An image whose left half is ``first`` and right half ``second``."""
    image = Image.new("RGB", size, first)
    image.paste(second, (size[0] // 2, 0, size[0], size[1]))
    return image


def stored_pixel(photo: Photo, x: float, y: float, variant: str = "full") -> tuple[int, ...]:
    from django.core.files.storage import default_storage

    with default_storage.open(photo.path(variant, "jpeg")) as f, Image.open(f) as image:
        return image.convert("RGB").getpixel((int(x * image.width), int(y * image.height)))


def close(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=True))


def test_crop_box_is_honoured(cast: Cast, pet: Pet) -> None:
    out = io.BytesIO()
    halves((200, 100), RED, BLUE).save(out, "PNG")
    upload = SimpleUploadedFile("halves.png", out.getvalue(), content_type="image/png")
    data = {"image": upload, "crop_left": "100", "crop_top": "0", "crop_size": "100"}
    assert cast.client_for("alice").post(upload_url(pet), data).status_code == 302
    photo = Photo.objects.get()
    for x, y in [(0.05, 0.05), (0.5, 0.5), (0.95, 0.95)]:
        assert close(stored_pixel(photo, x, y), BLUE)


def test_without_crop_box_the_centre_square_is_kept(cast: Cast, pet: Pet) -> None:
    out = io.BytesIO()
    halves((200, 100), RED, BLUE).save(out, "PNG")
    upload = SimpleUploadedFile("halves.png", out.getvalue(), content_type="image/png")
    assert cast.client_for("alice").post(upload_url(pet), {"image": upload}).status_code == 302
    photo = Photo.objects.get()
    assert close(stored_pixel(photo, 0.1, 0.5), RED)
    assert close(stored_pixel(photo, 0.9, 0.5), BLUE)


def test_crop_box_is_in_upright_pixels_of_a_rotated_photo(cast: Cast, pet: Pet) -> None:
    # Stored sideways (red left, blue right) with EXIF orientation 6: shown upright it is
    # 100×200, red on top and blue below. The browser's crop box is in those upright pixels.
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    halves((200, 100), RED, BLUE).save(out, "JPEG", quality=95, exif=exif.tobytes())
    data = {
        "image": jpeg_upload("turned.jpg", out.getvalue()),
        "crop_left": "0",
        "crop_top": "100",
        "crop_size": "100",
    }
    assert cast.client_for("alice").post(upload_url(pet), data).status_code == 302
    photo = Photo.objects.get()
    assert close(stored_pixel(photo, 0.5, 0.5), BLUE)
    assert close(stored_pixel(photo, 0.5, 0.05), BLUE)


def test_bad_crop_numbers_are_refused(cast: Cast, pet: Pet) -> None:
    data = {"image": jpeg_upload(), "crop_left": "-5", "crop_top": "x", "crop_size": "0"}
    response = cast.client_for("alice").post(upload_url(pet), data)
    assert response.status_code == 400
    assert "The chosen square is not valid." in response.content.decode()
    assert not Photo.objects.exists()


def test_script_upload_answers_json_with_the_pet_page(cast: Cast, pet: Pet) -> None:
    response = cast.client_for("bob").post(
        upload_url(pet), {"image": jpeg_upload()}, headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.status_code == 201
    assert response.json()["redirect"] == f"/pets/{pet.pk}/#photos"
    assert Photo.objects.get().uploaded_by == cast.bob


def test_first_photo_is_primary_and_deleting_it_promotes_the_next(
    cast: Cast, pet: Pet, django_capture_on_commit_callbacks
) -> None:
    client = cast.client_for("alice")
    client.post(upload_url(pet), {"image": jpeg_upload("one.jpg"), "caption": "one"})
    client.post(upload_url(pet), {"image": jpeg_upload("two.jpg"), "caption": "two"})
    first, second = Photo.objects.get(caption="one"), Photo.objects.get(caption="two")
    assert first.is_primary and not second.is_primary
    page = client.get(f"/pets/{pet.pk}/").content.decode()
    assert f"/photos/{first.key}/card.webp" in page
    assert f"/photos/{first.key}/card.jpeg" in page
    assert "<picture>" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/photos/{first.pk}/delete/").status_code == 302
    second.refresh_from_db()
    assert second.is_primary
    assert all(str(first.key) not in p.name for p in media_files())
    assert len(media_files()) == 6
    assert client.get(f"/photos/{first.key}/thumb.webp").status_code == 404


def test_make_primary_moves_the_mark(cast: Cast, pet: Pet) -> None:
    client = cast.client_for("bob")
    client.post(upload_url(pet), {"image": jpeg_upload("one.jpg"), "caption": "one"})
    client.post(upload_url(pet), {"image": jpeg_upload("two.jpg"), "caption": "two"})
    second = Photo.objects.get(caption="two")
    assert client.post(f"/photos/{second.pk}/primary/").status_code == 302
    assert list(Photo.objects.filter(is_primary=True)) == [second]
    listing = client.get("/pets/").content.decode()
    assert f"/photos/{second.key}/card.webp" in listing
