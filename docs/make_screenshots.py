"""Makes the README's pictures in docs/images/ from the product's own renderers and the seed digest:

- archive.png: the archived post (digest/markdown.py) built by the real Jekyll with the minima theme,
  shown by a real browser;
- telegram.png: the header and first card exactly as adapters/telegram/render.py writes them (Telegram
  HTML), on a page styled like Telegram's client;
- discord.png: the header and first card embeds from adapters/discord/render.py, on a page styled like
  Discord's dark theme.

Run from the repository root (not run by the tests):  .venv/bin/python docs/make_screenshots.py
Needs `jekyll` (with the minima theme) and `chromium` with fonts-noto-cjk (apt-get install -y jekyll
chromium fonts-noto-cjk).
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from markdown_it import MarkdownIt  # noqa: E402

from adapters.discord import render as discord_render  # noqa: E402
from adapters.telegram import render as telegram_render  # noqa: E402
from digest.markdown import render_post  # noqa: E402
from digest.models import Digest  # noqa: E402
from tests.telegram_support import make_digest, seed_items  # noqa: E402

OUT = ROOT / "docs" / "images"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]
FONTS = '"Noto Sans", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif'


def screenshot(url: str, target: Path, width: int, height: int) -> None:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--window-size={width},{height}",
            f"--screenshot={target}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    print(f"wrote {target.relative_to(ROOT)}")


# -- the archive, through Jekyll ------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1, as a reader's browser gets it (its CSS links are absolute)."""
    handler = partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def archive_page(digest: Digest, work: Path) -> tuple[Path, str]:
    """Builds a minimal Jekyll site (minima theme) around the post; the site folder and the page's path."""
    site = work / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_config.yml").write_text(
        "title: arXiv Daily\ntheme: minima\nmarkdown: kramdown\n", encoding="utf-8"
    )
    post = site / "_posts" / f"{digest.date.isoformat()}-arxiv-daily.md"
    post.write_text(render_post(digest), encoding="utf-8")
    built = work / "built"
    subprocess.run(["jekyll", "build", "--quiet", "-s", str(site), "-d", str(built)], check=True, timeout=300)
    page = next(built.rglob("arxiv-daily.html"))
    # Open the first breakdown, as a reader who clicked it would see it.
    text = page.read_text(encoding="utf-8").replace("<details>", "<details open>", 1)
    page.write_text(text, encoding="utf-8")
    return built, page.relative_to(built).as_posix()


# -- Telegram -------------------------------------------------------------------------------------

TELEGRAM_CSS = f"""
body {{ margin: 0; font-family: {FONTS}; font-size: 15px; line-height: 1.4;
       background: linear-gradient(160deg, #a4c48e, #d2dca8 60%, #8fb98b); min-height: 100vh; }}
.top {{ background: #fff; padding: 10px 18px; border-bottom: 1px solid #dadce0; display: flex; gap: 12px;
        align-items: center; }}
.avatar {{ width: 40px; height: 40px; border-radius: 50%; background: #e17076; color: #fff;
           display: flex; align-items: center; justify-content: center; font-weight: bold; }}
.top b {{ display: block; }} .top span {{ color: #8a8a8a; font-size: 13px; }}
.chat {{ padding: 16px 24px; max-width: 560px; }}
.bubble {{ background: #fff; border-radius: 12px; padding: 8px 12px 6px; margin: 8px 0 4px;
           white-space: pre-wrap; box-shadow: 0 1px 2px rgba(0,0,0,.15); word-wrap: break-word; }}
.bubble a {{ color: #168acd; text-decoration: none; }}
.bubble code {{ font-family: "Noto Sans Mono", monospace; color: #c0392b; font-size: 13px; }}
.bubble blockquote {{ margin: 4px 0; padding: 2px 8px; border-left: 3px solid #168acd;
                      background: #e8f3fb; border-radius: 4px; }}
.time {{ text-align: right; color: #a0acb6; font-size: 12px; }}
.keyboard .row {{ display: flex; gap: 4px; margin: 2px 0 4px; }}
.keyboard button {{ flex: 1; border: 0; border-radius: 8px; padding: 9px;
                    background: rgba(40, 70, 40, .35); color: #fff; font: inherit; font-weight: 500; }}
"""


def telegram_page(digest: Digest, work: Path) -> Path:
    messages = [telegram_render.render_header(digest), telegram_render.render_card(digest.items[0], "zh")]
    blocks = []
    for message in messages:
        # The text is the exact Telegram HTML the bot sends (escaped by the renderer); only `expandable`
        # is Telegram's own attribute, which a browser ignores.
        # One flex row per keyboard row, as Telegram lays them out.
        keyboard = "".join(
            '<div class="row">' + "".join(f"<button>{html.escape(b.text)}</button>" for b in row) + "</div>"
            for row in message.buttons
        )
        blocks.append(
            f'<div class="bubble">{message.text}<div class="time">09:30</div></div>'
            f'<div class="keyboard">{keyboard}</div>'
        )
    page = work / "telegram.html"
    page.write_text(
        f"<!doctype html><meta charset=utf-8><style>{TELEGRAM_CSS}</style>"
        '<div class="top"><div class="avatar">AP</div><div><b>Audio papers</b><span>channel</span></div></div>'
        f'<div class="chat">{"".join(blocks)}</div>',
        encoding="utf-8",
    )
    return page


# -- Discord --------------------------------------------------------------------------------------

DISCORD_CSS = f"""
body {{ margin: 0; background: #313338; color: #dbdee1; font-family: {FONTS}; font-size: 15px;
       line-height: 1.375; }}
.msg {{ display: flex; gap: 14px; padding: 16px 20px; }}
.avatar {{ width: 40px; height: 40px; border-radius: 50%; background: #5865f2; flex: none; color: #fff;
           display: flex; align-items: center; justify-content: center; font-weight: bold; }}
.name {{ color: #f2f3f5; font-weight: 600; }} .tag {{ background: #5865f2; color: #fff; font-size: 10px;
        border-radius: 3px; padding: 1px 4px; margin-left: 4px; vertical-align: middle; }}
.when {{ color: #949ba4; font-size: 12px; margin-left: 6px; }}
.embed {{ background: #2b2d31; border-left: 4px solid var(--c); border-radius: 4px; max-width: 520px;
          padding: 8px 16px 12px 12px; margin-top: 8px; }}
.embed .title {{ font-weight: 600; color: #00a8fc; margin: 4px 0; display: block; text-decoration: none; }}
.embed .title.plain {{ color: #f2f3f5; }}
.embed p {{ margin: 0 0 4px; }} .embed a {{ color: #00a8fc; text-decoration: none; }}
.embed ul {{ margin: 0; padding-left: 20px; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; margin-top: 8px; }}
.field.wide {{ grid-column: 1 / -1; }} .field b {{ display: block; color: #f2f3f5; font-size: 14px; }}
.footer {{ color: #b5bac1; font-size: 12px; margin-top: 8px; }}
.button {{ display: inline-block; background: #4e5058; color: #fff; border-radius: 3px; padding: 5px 16px;
           margin: 8px 8px 0 0; font-size: 14px; font-weight: 500; }}
"""


def _embed_html(embed: dict) -> str:
    md = MarkdownIt("commonmark")
    color = f"#{embed.get('color', 0):06x}"
    title = md.renderInline(embed.get("title", ""))  # escapes HTML; undoes the renderer's Markdown escapes
    if embed.get("url"):
        head = f'<a class="title" href="{html.escape(embed["url"])}">{title}</a>'
    else:
        head = f'<span class="title plain">{title}</span>'
    fields = "".join(
        f'<div class="field{"" if f.get("inline") else " wide"}"><b>{md.renderInline(f["name"])}</b>'
        f"{md.renderInline(f['value'])}</div>"
        for f in embed.get("fields", [])
    )
    footer = embed.get("footer", {}).get("text", "")
    return (
        f'<div class="embed" style="--c:{color}">{head}{md.render(embed.get("description", ""))}'
        f'<div class="fields">{fields}</div><div class="footer">{html.escape(footer)}</div></div>'
    )


def discord_page(digest: Digest, work: Path) -> Path:
    messages = discord_render.digest_messages(digest)
    header, cards = messages[0], messages[1]
    embeds = [e.to_dict() for e in header.embeds] + [cards.embeds[0].to_dict()]
    # The first card's buttons (detailed breakdown, 👍, 👎, ask), as its message carries them.
    first = [b for b in cards.buttons if b.label.endswith(" 1")]
    button = "".join(f'<span class="button">{html.escape(b.label)}</span>' for b in first)
    page = work / "discord.html"
    page.write_text(
        f"<!doctype html><meta charset=utf-8><style>{DISCORD_CSS}</style>"
        '<div class="msg"><div class="avatar">aD</div><div>'
        '<span class="name">arXiv Digest</span><span class="tag">APP</span><span class="when">Today at 09:30</span>'
        f"{''.join(_embed_html(e) for e in embeds)}"
        f'<div class="buttons">{button}</div></div></div>',
        encoding="utf-8",
    )
    return page


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    digest = make_digest(seed_items())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        site, path = archive_page(digest, work)
        with serve(site) as base:
            screenshot(f"{base}/{path}", OUT / "archive.png", 1000, 1400)
        screenshot(telegram_page(digest, work).as_uri(), OUT / "telegram.png", 620, 615)
        screenshot(discord_page(digest, work).as_uri(), OUT / "discord.png", 660, 700)


if __name__ == "__main__":
    main()
