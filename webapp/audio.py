"""Audio files as data: what a voicemail upload really is, judged by its bytes, not its name.

Pure functions, no ORM. Only formats a browser's `<audio>` element plays are accepted.
"""

import io
import math
import struct
import wave

WAV, MPEG, OGG, WEBM, MP4, FLAC = (
    "audio/wav",
    "audio/mpeg",
    "audio/ogg",
    "audio/webm",
    "audio/mp4",
    "audio/flac",
)
EXTENSIONS = {WAV: "wav", MPEG: "mp3", OGG: "ogg", WEBM: "webm", MP4: "m4a", FLAC: "flac"}
SNIFF_BYTES = 16


def sniff_audio(head: bytes) -> str | None:
    """The content type of an audio file from its first bytes, or None if it is not one."""
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"OggS":
        return OGG
    if head[:4] == b"fLaC":
        return FLAC
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:11] in (b"M4A", b"mp4", b"iso"):
        return MP4
    if head[:3] == b"ID3":
        return MPEG
    # An MPEG audio frame starts with 11 set bits; layer bits 01 (III), 10 (II) or 11 (I).
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return MPEG
    return None


def wav_duration_seconds(data: bytes) -> int | None:
    """A WAV file's duration, rounded up to the second; None when its header cannot be read."""
    try:
        with wave.open(io.BytesIO(data)) as wav:
            frames, rate = wav.getnframes(), wav.getframerate()
    except (wave.Error, EOFError, struct.error):
        return None
    return math.ceil(frames / rate) if rate else None


def wav_tone(
    *, seconds: float = 1.0, frequency: float = 440.0, rate: int = 8000, volume: float = 0.3
) -> bytes:
    """A mono 16-bit WAV of a sine tone: demo voicemails and tests need real, playable audio."""
    frames = int(seconds * rate)
    amplitude = int(32767 * volume)
    samples = b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * frequency * i / rate)))
        for i in range(frames)
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples)
    return buffer.getvalue()
