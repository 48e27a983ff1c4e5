"""Text-encoding detection and streaming decoding for uploaded files.

Files reaching a Japanese local government come from three main places:
modern tools and Excel's "CSV UTF-8" (UTF-8, often with a BOM), Excel's plain
"CSV" on Japanese Windows (CP932, Microsoft's extension of Shift_JIS), and
Excel's "Unicode text" (UTF-16 with a BOM).  Detection is therefore a fixed
cascade, most certain test first, so the same bytes always give the same
answer:

1. a byte-order mark: UTF-8 BOM -> ``utf-8-sig``, UTF-16 BOM -> ``utf-16``;
2. strict UTF-8;
3. strict ``cp932`` -- never ``shift_jis``, which cannot hold the vendor
   characters Japanese Windows users type every day (髙 﨑 ① ㈱ ～);
4. only then the charset-normalizer detector, for files from elsewhere;
5. otherwise :class:`UndetectableEncodingError`, asking the user to choose.

Detection looks at a bounded head of the file; the chosen codec then decodes
the whole file incrementally, so a decode error further on is reported with
its line and byte offset instead of being silently replaced.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, BinaryIO

import charset_normalizer

__all__ = [
    "HEAD_SIZE",
    "DecodedTextStream",
    "DecodingError",
    "ImportFileError",
    "InvalidTextError",
    "UndetectableEncodingError",
    "decode_head",
    "detect_encoding",
    "normalise_encoding",
    "open_text",
]

#: How many bytes of a file detection looks at.
HEAD_SIZE = 1 << 20

#: How many bytes the stream decodes at a time after the head.
CHUNK_SIZE = 1 << 16

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

# Names users and other software give to CP932 that Python either does not
# know ("windows-31j", the IANA name) or maps to the narrower shift_jis codec.
# Decoding with cp932 instead is safe: it is a superset of shift_jis.
_CP932_NAMES = {"windows-31j", "shift_jis"}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_END_CHARS = re.compile(r"[\r\n]")


class ImportFileError(Exception):
    """Base class of every error an uploaded file can cause.

    ``code`` identifies the problem for the application, which translates the
    message; ``params`` carries the values the message mentions (line numbers,
    column names...), and ``str(error)`` is the English message.
    """

    code = "import_error"
    template = "The file could not be imported."

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.template.format(**params))


class DecodingError(ImportFileError):
    """The file's text could not be decoded."""

    code = "decoding"
    template = "The file's text could not be decoded."


class UndetectableEncodingError(DecodingError):
    """No encoding in the cascade fits the start of the file."""

    code = "encoding_unknown"
    template = (
        "The file's character encoding could not be recognised. Please choose "
        "the encoding (for example UTF-8 or Shift_JIS (CP932)) and try again."
    )


class InvalidTextError(DecodingError):
    """Bytes somewhere in the file are invalid in the chosen encoding."""

    code = "decoding"
    template = (
        "The file is not valid {encoding} text: undecodable bytes at line "
        "{line} (byte offset {byte_offset}). Please check the file or choose "
        "another encoding."
    )


def normalise_encoding(name: str) -> str:
    """Return Python's canonical codec name for ``name``, preferring cp932.

    Raises :class:`LookupError` for a name Python does not know.
    """
    lowered = name.strip().lower()
    if lowered in _CP932_NAMES:
        return "cp932"
    canonical = codecs.lookup(lowered).name
    return "cp932" if canonical in _CP932_NAMES else canonical


def detect_encoding(head: bytes, use_detector: bool = True) -> str:
    """Return the codec name for a file starting with ``head``.

    ``head`` may be cut anywhere, even inside a multi-byte character: an
    incomplete sequence at its end is ignored rather than taken as proof that
    the encoding is wrong.  With ``use_detector=False`` the cascade stops
    before charset-normalizer.  Raises :class:`UndetectableEncodingError`.
    """
    if head.startswith(_UTF8_BOM):
        return "utf-8-sig"
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    for candidate in ("utf-8", "cp932"):
        if _decodes_strictly(head, candidate):
            return candidate
    if not use_detector:
        raise UndetectableEncodingError()
    match = charset_normalizer.from_bytes(head).best()
    if match is None:
        raise UndetectableEncodingError()
    return normalise_encoding(match.encoding)


def _decodes_strictly(head: bytes, encoding: str) -> bool:
    # An incremental decoder with final=False keeps an incomplete trailing
    # sequence pending instead of failing on it, which is exactly the trim a
    # head cut at an arbitrary byte needs.
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _choose_encoding(head: bytes, encoding: str | None) -> str:
    if encoding is None:
        return detect_encoding(head)
    chosen = normalise_encoding(encoding)
    # A BOM is unambiguous: without this, a user picking "UTF-8" for a file
    # saved as Excel's "CSV UTF-8" would get U+FEFF glued to the first header.
    if chosen == "utf-8" and head.startswith(_UTF8_BOM):
        return "utf-8-sig"
    return chosen


def decode_head(head: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode the (possibly cut) head of a file for inspection.

    Returns ``(text, encoding)``; ``encoding`` is detected unless given.
    Raises :class:`DecodingError`.
    """
    chosen = _choose_encoding(head, encoding)
    return _TrackingDecoder(chosen).decode(head, final=False), chosen


def open_text(
    binary_file: BinaryIO, encoding: str | None = None
) -> tuple[DecodedTextStream, str]:
    """Open a binary file as a stream of text lines.

    Reads the first :data:`HEAD_SIZE` bytes to detect the encoding (unless
    ``encoding`` is given), then decodes the file incrementally from where
    ``binary_file`` was positioned.  Returns ``(stream, encoding)``.
    """
    head = binary_file.read(HEAD_SIZE)
    chosen = _choose_encoding(head, encoding)
    return DecodedTextStream(binary_file, chosen, head), chosen


class _TrackingDecoder:
    """Incremental strict decoder that can say where an invalid byte is."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        # utf-8-sig's own decoder reports error positions relative to the
        # bytes after the BOM on the first chunk, so decode plain UTF-8 and
        # drop the BOM's U+FEFF ourselves to keep byte offsets exact.
        self._strip_bom = encoding == "utf-8-sig"
        self._codec = "utf-8" if self._strip_bom else encoding
        self._decoder = codecs.getincrementaldecoder(self._codec)("strict")
        self._bytes_in = 0
        self._line_breaks = 0
        self._after_cr = False

    def decode(self, data: bytes, final: bool) -> str:
        state = self._decoder.getstate()
        try:
            text = self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            raise self._locate(exc, state) from None
        except UnicodeError:
            raise self._no_byte_order_mark() from None
        self._bytes_in += len(data)
        self._line_breaks += self._count_breaks(text)
        if self._strip_bom and text:
            self._strip_bom = False
            text = text.removeprefix("\ufeff")
        return text

    def _count_breaks(self, text: str) -> int:
        breaks = len(_LINE_BREAK.findall(text))
        if self._after_cr and text.startswith("\n"):
            breaks -= 1  # the second half of a CRLF split between chunks
        if text:
            self._after_cr = text.endswith("\r")
        return breaks

    def _no_byte_order_mark(self) -> InvalidTextError:
        # Python's utf-16 codec refuses, with a plain UnicodeError, any stream that does not start
        # with its byte-order mark: the file is wrong from its first byte.
        return InvalidTextError(encoding=self.encoding, line=1, byte_offset=0)

    def _locate(
        self, exc: UnicodeDecodeError, state: tuple[bytes, int]
    ) -> InvalidTextError:
        # exc.object is the decoder's pending bytes followed by the new data,
        # so exc.start counts from the first pending byte.
        pending, flag = state
        prefix = codecs.getincrementaldecoder(self._codec)("strict")
        prefix.setstate((b"", flag))
        try:
            valid_text = prefix.decode(exc.object[: exc.start], final=False)
        except UnicodeError:
            return self._no_byte_order_mark()
        return InvalidTextError(
            encoding=self.encoding,
            line=self._line_breaks + self._count_breaks(valid_text) + 1,
            byte_offset=self._bytes_in - len(pending) + exc.start,
        )


class DecodedTextStream:
    """Text lines decoded incrementally from a binary file.

    Lines keep their endings and end at ``\\r\\n``, ``\\r`` or ``\\n``, as with
    ``open(..., newline='')``: that is what :mod:`csv` needs to keep newlines
    inside quoted fields intact.  Iterate it or call :meth:`readline`.
    Decoding is strict; invalid bytes raise :class:`InvalidTextError`.
    """

    def __init__(self, raw: BinaryIO, encoding: str, head: bytes = b"") -> None:
        self._raw = raw
        self._head = head
        self._decoder = _TrackingDecoder(encoding)
        self._buffer = ""
        self._pos = 0
        self._eof = False

    def __iter__(self) -> DecodedTextStream:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readline(self, limit: int = -1) -> str:
        """Return the next line with its ending; '' at the end of the file. With ``limit`` >= 0, at
        most that many characters: the rest of a longer line comes with the next call."""
        # A line spanning chunks is gathered in parts, so even a file with no
        # line breaks at all is read in linear time.
        parts = []
        taken = 0
        while True:
            match = _LINE_END_CHARS.search(self._buffer, self._pos)
            complete = bool(
                match
                and (match.group() == "\n" or match.end() < len(self._buffer) or self._eof)
            )
            if complete:
                end = match.end()
                if self._buffer.startswith("\r\n", match.start()):
                    end += 1
            else:
                # Keep a final "\r" unread: it may be the first half of "\r\n".
                end = match.start() if match else len(self._buffer)
            if 0 <= limit < taken + end - self._pos:
                end, complete = self._pos + limit - taken, True
            parts.append(self._buffer[self._pos : end])
            taken += end - self._pos
            self._pos = end
            if complete:
                break
            if not self._fill():
                parts.append(self._buffer[self._pos :])
                self._pos = len(self._buffer)
                break
        return "".join(parts)

    def _fill(self) -> bool:
        """Decode the next chunk into the buffer; False once at end of file."""
        if self._eof:
            return False
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._raw.read(CHUNK_SIZE)
        self._eof = not data
        text = self._decoder.decode(data, final=self._eof)
        # Drop what has been returned already so the buffer stays one chunk.
        self._buffer = self._buffer[self._pos :] + text
        self._pos = 0
        return True
