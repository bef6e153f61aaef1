"""Audio uploads are judged by their bytes."""

import pytest

from webapp.audio import sniff_audio, wav_duration_seconds, wav_tone


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
        (b"OggS\x00\x02\x00\x00", "audio/ogg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "audio/webm"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00", "audio/mp4"),
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),  # a RIFF file that is a video
        (b"%PDF-1.7\n", None),
        (b"#!AMR\n", None),  # no browser plays AMR
        (b"\xff\xe0\x00\x00", None),  # frame sync bits with a reserved layer
        (b"", None),
    ],
)
def test_sniff_audio(head, expected):
    assert sniff_audio(head) == expected


def test_wav_tone_is_a_valid_wav_of_the_asked_length():
    data = wav_tone(seconds=3, rate=8000)

    assert sniff_audio(data[:16]) == "audio/wav"
    assert wav_duration_seconds(data) == 3
    assert len(data) == 44 + 3 * 8000 * 2


def test_wav_duration_of_a_broken_header_is_unknown():
    assert wav_duration_seconds(b"RIFF\x00\x00\x00\x00WAVEjunk") is None
