"""Strings from the gateway made safe to write anywhere."""

from __future__ import annotations


def clean(text: str) -> str:
    """Return ``text`` with code points UTF-8 cannot hold (lone surrogates) as U+FFFD.

    JSON's ``\\ud800`` escapes decode to such code points; a surrogate pair split into two
    code points is joined back into the character it encodes.
    """
    if text.isascii():  # the usual case, and far cheaper than encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
