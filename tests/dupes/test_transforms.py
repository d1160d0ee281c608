"""Alignment: a crop lines up through the profiles, a margin caption through the frames."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from PIL import Image, ImageDraw

from illudex.dupes import transforms, verify
from tests.dupes.pictures import drawing
from tests.dupes.test_verify import as_stored, cropped, hue_rotated, prepared


def test_a_crop_lines_up_through_the_profiles_then_the_pixels() -> None:
    original = Image.new("RGB", (320, 256), (90, 160, 220))  # full bleed: no margin to trim
    original.paste(drawing(4), (0, 0), mask=None)
    original = original.resize((320, 256))
    edge = ImageDraw.Draw(original)
    edge.rectangle((0, 0, 319, 40), fill=(30, 90, 30))
    crop = cropped(original)
    prep = prepared(original, crop)
    assert as_stored(prep).similarity[0] < 0.85  # misaligned as stored
    found, agreement = transforms.profile_transforms(prep, np.array([0]), np.array([1]))
    assert agreement[0] > 0.95
    rough = verify.warp_compare(prep, np.array([0]), np.array([1]), found)
    assert rough.similarity[0] > 0.8
    _, sc = transforms.refine(prep, np.array([0]), np.array([1]), found)
    assert sc.similarity[0] >= max(0.9, rough.similarity[0])
    assert sc.overlap[0] > 0.75


def test_refine_returns_every_score_of_the_transform_it_returns() -> None:
    original = Image.new("RGB", (320, 256), (90, 160, 220))
    original.paste(drawing(4), (0, 0), mask=None)
    original = original.resize((320, 256))
    ImageDraw.Draw(original).rectangle((0, 0, 319, 40), fill=(30, 90, 30))
    copy = cropped(original)
    half = copy.crop((0, 0, copy.width // 2, copy.height))
    copy.paste(hue_rotated(half), (0, 0))  # a recoloured part: every colour score moves
    prep = prepared(original, copy)
    pair = np.array([0]), np.array([1])
    found, _ = transforms.profile_transforms(prep, *pair)
    moved, sc = transforms.refine(prep, *pair, found)
    assert not np.allclose(moved, found)  # it did move
    again = verify.warp_compare(prep, *pair, moved)
    for field in fields(verify.Scores):
        np.testing.assert_allclose(getattr(sc, field.name), getattr(again, field.name),
                                   err_msg=field.name)


def test_a_caption_in_the_margin_lines_up_through_the_frames() -> None:
    original = Image.new("RGB", (400, 300), "white")
    original.paste(drawing(5, (200, 160)), (150, 110))
    copy = original.copy()
    ImageDraw.Draw(copy).text((10, 10), "sample 99", fill=(0, 0, 0))
    prep = prepared(original, copy)
    transform = transforms.box_transform(prep.boxes[0], prep.boxes[1])
    assert not transforms.is_identity(transform)
    sc = verify.warp_compare(prep, np.array([0]), np.array([1]), transform[None])
    assert sc.similarity[0] >= 0.9
    assert sc.overlap[0] > 0.9  # the caption is a sliver of ink outside the overlap


def test_box_transform_maps_corners_onto_each_other() -> None:
    t = transforms.box_transform(np.array([0.1, 0.2, 0.9, 0.8]), np.array([0.0, 0.0, 1.0, 1.0]))
    corner = t @ np.array([0.0, 0.0, 1.0])
    assert corner == pytest.approx([0.1, 0.2])
    assert transforms.is_identity(transforms.box_transform(np.array([0, 0, 1, 1.0]),
                                                   np.array([0, 0, 1, 1.0])))
