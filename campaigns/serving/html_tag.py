"""HTML ad tags for display placements: the served image in a link through the signed click URL,
and the impression pixel, as a fragment a DSP or a page drops into its slot.

No database and no request: the serve view hands in what it chose and the signed tracking URLs.
Every value is HTML-escaped (format_html), so nothing a product title holds can change the
fragment's structure. A DSP's macros pass through as written (they hold no character that HTML
escapes) for the DSP to fill in after it receives the tag:

- the click macro is put in front of the click URL, so the DSP counts the click and then redirects
  to ours (which counts it and lands on the campaign's page); a macro that expects an escaped
  destination (`%%CLICK_URL_ESC%%`, `${CLICK_URL_ENC}`) gets the click URL percent-encoded
  (`click_macro_escapes`; the caller may say otherwise);
- the cache-busting macro becomes the pixel's `cb` query parameter, which the pixel ignores.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from django.utils.html import format_html

# What `click_macro` may be: a DSP's macro (%%NAME%%, ${NAME}, [NAME], {NAME}) or the http(s) URL
# prefix of its click tracker (e.g. https://dsp.example/click?redirect=), nothing else (no
# javascript: links); at most CLICK_MACRO_MAX characters.
CLICK_MACRO = re.compile(r"%%\w+%%|\$\{\w+\}|\[\w+\]|\{\w+\}|https?://[\x21-\x7e]+", re.ASCII)
CLICK_MACRO_MAX = 500
# A macro whose name ends so wants its destination escaped: %%CLICK_URL_ESC%% (Google Ad Manager),
# ${CLICK_URL_ENC} (Xandr, DV360); %%CLICK_URL_UNESC%% and ${CLICK_URL} get it as it is.
ESCAPED_MACRO_SUFFIXES = ("_ESC", "_ENC", "_ESCAPED", "_ENCODED")
# What `cb` may be: a cache-busting macro (%%CACHEBUSTER%%, ${CACHEBUSTER}, [timestamp], {random}) or
# a value the caller already filled in.
CACHE_BUSTER = re.compile(r"%%\w+%%|\$\{\w+\}|\[\w+\]|\{\w+\}|[\w.-]+", re.ASCII)
CACHE_BUSTER_MAX = 64


@dataclass(frozen=True)
class HtmlAd:
    image_url: str
    width: int
    height: int
    alt: str  # what the ad shows, for screen readers and when the image does not load
    click_url: str
    impression_url: str


def click_macro_valid(macro: str) -> bool:
    return len(macro) <= CLICK_MACRO_MAX and CLICK_MACRO.fullmatch(macro) is not None


def cache_buster_valid(value: str) -> bool:
    return len(value) <= CACHE_BUSTER_MAX and CACHE_BUSTER.fullmatch(value) is not None


def click_macro_escapes(click_macro: str) -> bool:
    """Whether the click URL goes after `click_macro` percent-encoded, when the caller does not say:
    a macro whose name ends in _ESC or _ENC (not _UNESC) wants it escaped, and so does a tracker URL
    ending in "=" (the destination is a query parameter's value); anything else takes it as it is."""
    if click_macro.startswith(("http://", "https://")):
        return click_macro.endswith("=")
    name = click_macro.strip("%${}[]").upper()
    return name.endswith(ESCAPED_MACRO_SUFFIXES)


def click_through(click_url: str, click_macro: str = "", *, escape: bool | None = None) -> str:
    """The link's target: the DSP's click macro (if any) followed by our click URL, percent-encoded
    when `escape` says so (None: as `click_macro_escapes` judges the macro)."""
    if not click_macro:
        return click_url
    if escape is None:
        escape = click_macro_escapes(click_macro)
    return click_macro + (quote(click_url, safe="") if escape else click_url)


def html_ad_tag(ad: HtmlAd, *, click_macro: str = "", click_escape: bool | None = None, cache_buster: str = "") -> str:
    """The fragment: `<a href=click><img src=image width height alt></a><img src=pixel 1x1 hidden>`."""
    pixel = ad.impression_url + (f"?cb={cache_buster}" if cache_buster else "")
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" width="{}" height="{}" alt="{}" '
        'style="border:0;display:block"></a><img src="{}" width="1" height="1" alt="" style="display:none">',
        click_through(ad.click_url, click_macro, escape=click_escape),
        ad.image_url,
        ad.width,
        ad.height,
        ad.alt,
        pixel,
    )
