"""A fake of arxiv.org's full-text endpoints on 127.0.0.1, and the documents it serves.

`/html/<id>` serves LaTeXML-like markup (the classes arXiv's HTML uses, with MathML carrying a TeX
annotation, a table figure, footnotes, a bibliography and page chrome around the article) and `/pdf/<id>`
serves a real PDF written here by hand (no PDF library needed, no internet). Unknown ids get 404, as on
arXiv; queued failures (503 with Retry-After, 429) are served before the real answer. Every request is
logged, so tests can assert how many were made.
"""

from __future__ import annotations

import html
import random
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# -- documents ------------------------------------------------------------------------------------


@dataclass
class FakeSection:
    """A top-level section: paragraphs, then (title, paragraphs) subsections."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    subsections: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class FakePaper:
    title: str
    abstract: str
    sections: list[FakeSection]
    table_caption: str = ""
    table_rows: list[list[str]] = field(default_factory=list)


def _math(tex: str) -> str:
    # LaTeXML's triplet: presentation MathML, content MathML and the TeX annotation.
    return (
        f'<math alttext="{html.escape(tex)}" class="ltx_Math" display="inline">'
        f"<semantics><mrow><mi>x</mi><mo>=</mo><mn>{html.escape(tex)}</mn></mrow>"
        f'<annotation-xml encoding="MathML-Content"><apply><eq/><ci>x</ci></apply></annotation-xml>'
        f'<annotation encoding="application/x-tex">{html.escape(tex)}</annotation></semantics></math>'
    )


def _para(text: str) -> str:
    # "$...$" in a fake paragraph becomes MathML, as LaTeXML would render it.
    parts = text.split("$")
    body = "".join(html.escape(p) if i % 2 == 0 else _math(p) for i, p in enumerate(parts))
    return f'<div class="ltx_para"><p class="ltx_p">{body}</p></div>'


def latexml_html(paper: FakePaper) -> bytes:
    out = [
        "<!DOCTYPE html><html><head><title>",
        html.escape(paper.title),
        "</title></head><body>",
        '<header class="desktop_header"><nav>Back to arXiv</nav><button>Report issue</button></header>',
        '<div class="ltx_page_main"><div class="ltx_page_content">',
        '<article class="ltx_document ltx_authors_1line">',
        f'<h1 class="ltx_title ltx_title_document">{html.escape(paper.title)}</h1>',
        '<div class="ltx_authors"><span class="ltx_creator ltx_role_author">A. Author</span></div>',
        '<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>',
        f'<p class="ltx_p">{html.escape(paper.abstract)}</p></div>',
    ]
    for number, section in enumerate(paper.sections, start=1):
        out.append(f'<section class="ltx_section" id="S{number}">')
        out.append(
            f'<h2 class="ltx_title ltx_title_section"><span class="ltx_tag ltx_tag_section">{number} </span>'
            f"{html.escape(section.title)}</h2>"
        )
        out.extend(_para(p) for p in section.paragraphs)
        if number == 1:
            out.append(
                '<div class="ltx_para"><p class="ltx_p">Code is public.'
                '<span class="ltx_note ltx_role_footnote"><sup class="ltx_note_mark">1</sup>'
                '<span class="ltx_note_outer"><span class="ltx_note_content">'
                "https://example.org/code</span></span></span></p></div>"
            )
        for sub_number, (sub_title, paragraphs) in enumerate(section.subsections, start=1):
            out.append(f'<section class="ltx_subsection" id="S{number}.SS{sub_number}">')
            out.append(
                f'<h3 class="ltx_title ltx_title_subsection"><span class="ltx_tag ltx_tag_subsection">'
                f"{number}.{sub_number} </span>{html.escape(sub_title)}</h3>"
            )
            out.extend(_para(p) for p in paragraphs)
            out.append("</section>")
        if paper.table_rows and section.title.lower().startswith(("experiment", "result")):
            out.append('<figure class="ltx_table" id="T1">')
            out.append(
                f'<figcaption class="ltx_caption">Table 1: {html.escape(paper.table_caption)}</figcaption>'
            )
            out.append('<table class="ltx_tabular">')
            for row in paper.table_rows:
                out.append(
                    "<tr>" + "".join(f'<td class="ltx_td">{html.escape(c)}</td>' for c in row) + "</tr>"
                )
            out.append("</table></figure>")
        out.append("</section>")
    out.append(
        '<section class="ltx_bibliography" id="bib"><h2 class="ltx_title">References</h2>'
        '<ul class="ltx_biblist"><li class="ltx_bibitem">[1] B. Other. A cited paper. 2019.</li></ul>'
        "</section>"
    )
    out.append("</article></div></div><footer>About arXiv</footer></body></html>")
    return "".join(out).encode()


def paper_lines(paper: FakePaper) -> list[str]:
    """The paper as the lines of a typeset PDF: title, abstract, numbered headings, references."""
    lines = [paper.title, "A. Author", "Abstract", *_wrap(paper.abstract)]
    for number, section in enumerate(paper.sections, start=1):
        lines.append(f"{number} {section.title}")
        for paragraph in section.paragraphs:
            lines.extend(_wrap(paragraph.replace("$", "")))
        for sub_number, (sub_title, paragraphs) in enumerate(section.subsections, start=1):
            lines.append(f"{number}.{sub_number} {sub_title}")
            for paragraph in paragraphs:
                lines.extend(_wrap(paragraph.replace("$", "")))
        if paper.table_rows and section.title.lower().startswith(("experiment", "result")):
            lines.append(f"Table 1: {paper.table_caption}")
            lines.extend("  ".join(row) for row in paper.table_rows)
    lines += ["References", "[1] B. Other. A cited paper. 2019."]
    return lines


def _wrap(text: str, width: int = 90) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def make_pdf(lines: list[str], lines_per_page: int = 60) -> bytes:
    """A real PDF (Helvetica, one text object per page) of the given lines, written by hand."""
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    objects: list[bytes] = []  # object n is objects[n - 1]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, page_lines in enumerate(pages):
        shown = " ".join(f"({_pdf_string(line)}) Tj T*" for line in page_lines)
        stream = f"BT /F1 10 Tf 12 TL 50 800 Td {shown} ET".encode("latin-1", "replace")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


_WORDS = (
    "audio speech model encoder decoder training data signal latent token spectral temporal baseline "
    "network feature loss representation benchmark evaluation attention codec frame noise"
)


def synthetic_paper(seed: int, target_chars: int = 40_000, results_sentence: str = "") -> FakePaper:
    """A paper of about target_chars with the usual sections; the results open with results_sentence."""
    rng = random.Random(seed)
    words = _WORDS.split()

    def sentence() -> str:
        n = rng.randint(10, 24)
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    def paragraph() -> str:
        return " ".join(sentence() for _ in range(rng.randint(4, 8)))

    def paragraphs(chars: int) -> list[str]:
        out: list[str] = []
        while sum(len(p) for p in out) < chars:
            out.append(paragraph())
        return out

    share = target_chars // 20
    results_first = (
        results_sentence or f"Our model reaches an F1 score of 0.{rng.randint(10, 99)} on the test set."
    )
    return FakePaper(
        title=f"Synthetic Paper {seed}",
        abstract=paragraph(),
        sections=[
            FakeSection("Introduction", paragraphs(2 * share)),
            FakeSection("Related Work", paragraphs(3 * share)),
            FakeSection(
                "Method",
                paragraphs(share),
                [
                    ("Architecture", paragraphs(3 * share)),
                    (
                        "Training objective",
                        [
                            f"We minimise $L = L_{{ce}} + 0.5 L_{{ts}}$ over {rng.randint(2, 9)} epochs.",
                            *paragraphs(2 * share),
                        ],
                    ),
                ],
            ),
            FakeSection(
                "Experiments",
                paragraphs(share // 2),
                [
                    ("Setup", paragraphs(3 * share)),
                    ("Main results", [results_first, *paragraphs(2 * share)]),
                    ("Ablations", paragraphs(share)),
                ],
            ),
            FakeSection("Conclusion", paragraphs(share)),
            FakeSection("Appendix: more experiments", paragraphs(2 * share)),
        ],
        table_caption="Event F1 and hallucination rate on the test set.",
        table_rows=[["Model", "F1", "Hal."], ["Baseline", "0.41", "9.3%"], ["Ours", "0.50", "4.9%"]],
    )


# -- the server -----------------------------------------------------------------------------------


class FakeArxivFullText:
    """Serves /html/<id> and /pdf/<id> on 127.0.0.1 from dicts; use as a context manager."""

    def __init__(self) -> None:
        self.html: dict[str, bytes] = {}
        self.pdf: dict[str, bytes] = {}
        # path -> queued (status, headers) answers served before the real one
        self.failures: dict[str, deque[tuple[int, dict[str, str]]]] = defaultdict(deque)
        self.requests: list[str] = []
        self.latency = 0.0  # seconds each answer takes
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests served at once: arXiv wants one at a time
        self._count = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, paper_id: str, paper: FakePaper, *, html_page: bool = True, pdf: bool = True) -> None:
        if html_page:
            self.html[paper_id] = latexml_html(paper)
        if pdf:
            self.pdf[paper_id] = make_pdf(paper_lines(paper))

    def fail(self, path: str, status: int, times: int = 1, retry_after: str | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.failures[path].append((status, headers))

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def html_url(self) -> str:
        return self.base_url + "/html/{id}"

    @property
    def pdf_url(self) -> str:
        return self.base_url + "/pdf/{id}"

    def __enter__(self) -> FakeArxivFullText:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with fake._count:
                    fake.requests.append(self.path)
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                self._counted = True
                try:
                    time.sleep(fake.latency)
                    self._answer()
                finally:
                    self._done()

            def _done(self) -> None:
                # A request stops counting before its answer goes out: once the client has the whole
                # body it may send the next request, before this thread runs another line.
                if self._counted:
                    self._counted = False
                    with fake._count:
                        fake.in_flight -= 1

            def _answer(self) -> None:
                queued = fake.failures.get(self.path)
                if queued:
                    status, headers = queued.popleft()
                    self._send(status, b"busy", "text/plain", headers)
                    return
                kind, _, paper_id = self.path.lstrip("/").partition("/")
                store = {"html": fake.html, "pdf": fake.pdf}.get(kind, {})
                body = store.get(paper_id)
                if body is None:
                    self._send(404, b"not found", "text/plain")
                else:
                    ctype = "text/html; charset=utf-8" if kind == "html" else "application/pdf"
                    self._send(200, body, ctype)

            def _send(
                self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
            ) -> None:
                self._done()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


# -- the seed's papers ----------------------------------------------------------------------------

# Stand-in passages of the seed papers' full texts that hold every number the seed's breakdowns cite,
# in the spellings papers use (0.5 for 0.50, 0.9395 for 93.95%, ±12 for 12, "five" for 5), so a build
# against this fake can reproduce the seed and pass the number check.
SEED_PASSAGES: dict[str, str] = {
    "2602.15766v1": (
        "Models such as SALMONN and Gemini 3 Pro are brittle in cocktail-party scenes. TAC builds on "
        "Qwen2-Audio, fine-tuned with LoRA. On TACOS, TAC reaches an event F1 of 0.5, ahead of Gemini 3 "
        "Pro and Qwen3-Omni, with the lowest hallucination rate (4.9\\%). The TAC→LLM cascade reaches 71.9 "
        "on MMAR."
    ),
    "2602.15749v1": (
        "Codecs such as DAC and EnCodec run at 75–150 Hz. We cut the encoder's downsampling layers from five "
        "to 3 and reach compression ratios of up to 3,360×. At 13.125 Hz GenAE matches or beats baselines at "
        "far higher rates; at 36.75 Hz it beats all of them on every metric. It encodes over 10x faster than "
        "Stable Audio Open, decodes 1.6x faster than DAC and uses 3x less memory, giving a language model "
        "832 s of context and a diffusion model 173 s."
    ),
    "2602.15651v1": (
        "The cascade LLM → TTS → A2F adds latency. We keep the IndexTTS2 backbone frozen and feed its "
        "intermediate features to the A2F decoder. Stage one aligns feature distributions (Eq. (1)); the "
        "mouth-aware loss weights frames by opening (Eq. (3)) and keeps other regions stable (Eq. (6))."
    ),
    "2602.15537v1": (
        "The L2 norm of intermediate WavLM features already carries boundary information: we take frame "
        "features from layer 13 of WavLM Large, and pool layer 22 features within each syllable. Language "
        "models use the OPT-125M architecture. ZeroSyl reaches 68.0 on sWUGGY, 60.50 on sBLIMP and 68.0% "
        "on Topic StoryCloze."
    ),
    "2602.15519v1": "We evaluate target speech extraction in five real noisy human-robot dialogue scenes.",
    "2602.15491v1": (
        "Performance stays flat for input gains within ±12 dB on LibriSpeech. At 3.2 kbps SI-SDR improves "
        "by about 1 dB, and the codebook can shrink to 1/8 of its size at similar quality."
    ),
    "2602.15484v1": (
        "With Wav2Vec2 features in seen conditions the model reaches LCC 0.9395, SRCC 0.9389 and MSE 0.0064."
    ),
    "2602.15307v1": (
        "We keep the top 5% of neurons by class-specific activation probability. Tasks: ESC-50, GISE-51, "
        "VoxCeleb1, VoxForge, CREMA-D, GTZAN, NSynth, Surge. SSL models reach close to 100% class coverage."
    ),
}


def seed_paper(record: dict) -> FakePaper:
    """A fake full paper for one record of tests/fixtures/seed-2026-02-18.json."""
    passage = SEED_PASSAGES[record["id"]]
    filler = synthetic_paper(int(record["id"].split(".")[1][:5]), target_chars=12_000)
    sections = [
        FakeSection("Introduction", [record["abstract"], *filler.sections[0].paragraphs[:1]]),
        FakeSection("Method", filler.sections[2].paragraphs[:2]),
        FakeSection("Experiments", [passage, *filler.sections[3].paragraphs[:2]]),
        FakeSection("Conclusion", filler.sections[4].paragraphs[:1]),
    ]
    return FakePaper(title=record["title"], abstract=record["abstract"], sections=sections)
