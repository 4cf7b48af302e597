"""Running ffmpeg safely: a time limit, no orphaned processes, and media probing.

The binary comes from imageio-ffmpeg (a static build on PyPI), so no system ffmpeg is
needed. Every run starts ffmpeg in its own process group with stdin closed; on a time
limit, an error or an interrupt the whole group is killed and reaped before the error
reaches the caller, so a hung decoder never outlives the job that started it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import SynthesisError

PROBE_TIMEOUT = 15.0


class VideoError(SynthesisError):
    code = "video_failed"


class FootageError(VideoError):
    """The footage cannot be used: unreadable, empty, no video stream, too short."""

    code = "bad_footage"


class VideoTimeout(VideoError):
    code = "video_timeout"


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $IMAGEIO_FFMPEG_EXE when set, else imageio-ffmpeg's bundled build."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class FfmpegRun:
    returncode: int
    stderr: str


def run_ffmpeg(args: list[str], *, timeout: float, what: str = "ffmpeg") -> FfmpegRun:
    """Run ffmpeg with `args`; raises VideoTimeout after `timeout` seconds, the process group killed."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: killpg reaches anything it spawned
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise VideoTimeout(f"{what} did not finish within {timeout:g} s and was stopped") from None
    except BaseException:
        _kill_group(proc)
        raise
    return FfmpegRun(proc.returncode, err.decode("utf-8", "replace"))


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()  # reap it and drain the pipe


def last_error_line(stderr: str) -> str:
    """The most telling line of ffmpeg's log: the last one that is not a progress line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("frame=", "size=", "Press [q]"))]
    return lines[-1][:300] if lines else "no output"


@dataclass(frozen=True)
class MediaInfo:
    container: str  # ffmpeg's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration: float  # seconds, from the container
    width: int  # as displayed (rotation applied)
    height: int
    fps: float
    video_codec: str
    pixel_format: str
    has_audio: bool
    audio_codec: str | None


_INPUT = re.compile(r"Input #0, ([\w,]+), from")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_FPS = re.compile(r"([\d.]+) (?:fps|tbr)")
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)")
_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")


def probe(path: Path, *, timeout: float = PROBE_TIMEOUT, label: str | None = None) -> MediaInfo:
    """Read a media file's streams; raises FootageError naming what is wrong with it (as `label`)."""
    path = Path(path)
    name = label or path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FootageError(f"Footage {name} cannot be read: {exc.strerror}") from None
    if size == 0 and path.is_file():
        raise FootageError(f"Footage {name} is empty (0 bytes)")
    run = run_ffmpeg(["-i", str(path)], timeout=timeout, what=f"Reading footage {name}")
    log = run.stderr
    if "Input #0" not in log:
        raise FootageError(
            f"Footage {name} is not a readable video file ({last_error_line(log).replace(str(path), name)})"
        )
    video = _VIDEO.search(log)
    if not video:
        raise FootageError(f"Footage {name} has no video stream")
    duration = _DURATION.search(log)
    if not duration:
        raise FootageError(f"Footage {name} has no known duration (a live stream or a damaged file)")
    h, m, s = duration.groups()
    video_line = log[video.start() : log.find("\n", video.start())]
    fps = _FPS.search(video_line)
    width, height = int(video.group(3)), int(video.group(4))
    rotation = _ROTATION.search(log[video.start() :])
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width  # phones store portrait video as landscape plus a rotation
    audio = _AUDIO.search(log)
    container = _INPUT.search(log)
    return MediaInfo(
        container=container.group(1) if container else "",
        duration=int(h) * 3600 + int(m) * 60 + float(s),
        width=width,
        height=height,
        fps=float(fps.group(1)) if fps else 0.0,
        video_codec=video.group(1),
        pixel_format=video.group(2),
        has_audio=audio is not None,
        audio_codec=audio.group(1) if audio else None,
    )
