"""The issue's scenario on Telegram, in process (real PTB, real openai client, real SQLite) against the
fake Bot API and the fake OpenAI server with /embeddings: a group follows a word, mutes one and rates
two topics on day one; on day two a mixed 40-paper digest puts the liked topic and the followed word in
its cards, leaves the muted papers out and the rest in the overview, each paper once. Ratings survive a
restart."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from adapters.telegram.buttons import parse_start_payload
from adapters.telegram.texts import TEXTS
from bot.telegram_wiring import make_runtime
from bot.wiring import make_service
from config.settings import load_settings
from digest.store import Store
from tests.fakes.openai_api import FakeLLM
from tests.fakes.server import BackgroundServer
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, Limits, parse_html, user_json
from tests.ranking_data import topic_items
from tests.telegram_support import make_digest, store_digest

GROUP, PRIVATE = -1002000000002, 5550001
ADMIN, MEMBER, OTHER = 101, 202, 303
DAY_ONE, DAY_TWO = date(2026, 2, 17), date(2026, 2, 18)
ZH = TEXTS["zh"]
TG = "telegram"


def write_config(path: Path, telegram_url: str) -> Path:
    path.write_text(
        f"""
[digest]
categories = ["cs.SD", "eess.AS"]
language = "zh"
[arxiv]
api_url = "http://127.0.0.1:9/api/query"
delay_seconds = 0
retries = 0
[llm]
retries = 0
[storage]
database = "data/digest.db"
archive_dir = "archive/_posts"
[telegram]
api_base_url = "{telegram_url}"
""",
        encoding="utf-8",
    )
    return path


class Bot:
    def __init__(self, tmp_path: Path, fake: FakeTelegram, llm_url: str):
        config = write_config(tmp_path / "digest.toml", fake.base_url)
        env = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "OPENAI_BASE_URL": f"{llm_url}/v1",
            "OPENAI_API_KEY": "sk-test-secret",
        }
        settings = load_settings(config, env, base_dir=tmp_path)
        self.store = Store.open(settings.database_path)
        self.service = make_service(settings, self.store)
        self.runtime = make_runtime(settings, self.store, self.service)

    async def stop(self) -> None:
        await self.runtime.stop()
        await self.service.aclose()
        self.store.close()


def sent_since(fake: FakeTelegram, chat: int, start: int) -> list[dict]:
    return fake.messages_to(chat)[start:]


def links(message: dict) -> list[str]:
    return [e["url"] for e in message.get("entities", []) if e["type"] == "text_link"]


async def test_follow_mute_rate_then_rank_the_next_day(tmp_path: Path) -> None:
    day_one = topic_items([("codec", 4), ("music", 4), ("vision", 4)], "2602.1")
    day_two = topic_items(
        [("codec", 7), ("music", 8), ("survey", 4), ("robots", 3), ("vision", 18)], "2602.2"
    )
    llm = FakeLLM()
    # Telegram's per-group limit, over a second instead of a minute: the test need not wait it out.
    fake = await FakeTelegram(limits=Limits(chat_period=1.0, retry_granularity=0.1)).start()
    fake.add_chat(GROUP, "supergroup", "Lab group", admins={ADMIN})
    fake.add_chat(PRIVATE, "private", "Reader")
    with BackgroundServer(llm.app()) as llm_server:
        bot = Bot(tmp_path, fake, llm_server.url)
        try:
            store_digest(bot.store, make_digest(day_one, DAY_ONE))
            store_digest(bot.store, make_digest(day_two, DAY_TWO, fetched=52))
            bot.store.subscribe(TG, str(GROUP), ["cs.SD", "eess.AS"], "Lab")
            await bot.runtime.start(receive=True)

            # Interests are changed by the group's admins only; anyone may look.
            fake.command(GROUP, "/follow navigation", user=user_json(MEMBER))
            fake.command(GROUP, '/follow navigation "crowded corridors"', user=user_json(ADMIN))
            fake.command(GROUP, "/mute survey", user=user_json(ADMIN))
            await fake.wait_for(lambda: len(fake.messages_to(GROUP)) == 3)
            replies = [m["text"] for m in fake.messages_to(GROUP)]
            assert replies[0] == ZH["interests_admin_only"]
            assert replies[1] == ZH["followed"].format(terms='navigation, "crowded corridors"')

            # Day one: 12 papers, 10 cards and a two-paper overview; readers rate from the cards.
            assert await bot.runtime.push(DAY_ONE) == 1 + 10 + 1
            cards = [m for m in fake.messages_to(GROUP)[3:] if "reply_markup" in m]
            assert len(cards) == 10
            queries = []
            for card in cards:
                row = card["reply_markup"]["inline_keyboard"][0]
                assert [b["text"] for b in row] == ["📖 详细解读", "👍", "👎", "💬 提问"]
                title = card["text"].split("\n")[0]
                vote = row[1] if "codec" in title else row[2] if "music" in title else None
                if vote is not None:
                    for reader in (MEMBER, OTHER):
                        queries.append(
                            fake.press(GROUP, card["message_id"], vote["callback_data"], user_json(reader))
                        )
            # pressing again takes a rating back; a third press gives it again
            first_like = next(c for c in cards if "codec" in c["text"].split("\n")[0])
            up = first_like["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
            await fake.wait_for(lambda: all(q in fake.answers for q in queries))
            again = fake.press(GROUP, first_like["message_id"], up, user_json(MEMBER))
            await fake.wait_for(lambda: again in fake.answers)
            assert fake.answers[again]["text"] == ZH["rating_removed"]
            again = fake.press(GROUP, first_like["message_id"], up, user_json(MEMBER))
            await fake.wait_for(lambda: again in fake.answers)
            assert fake.answers[again]["text"] == ZH["rated_up"]
            assert {fake.answers[q]["text"] for q in queries} == {ZH["rated_up"], ZH["rated_down"]}
            assert fake.edits == []  # a rating never edits the post
        finally:
            await bot.stop()

        # A restart: a new process state over the same database file.
        bot = Bot(tmp_path, fake, llm_server.url)
        try:
            mine = bot.service.interests.for_chat(TG, str(GROUP))
            assert len(mine.liked) == 4 and len(mine.disliked) == 4 and mine.ratings == 16
            await bot.runtime.start(receive=True)
            start = len(fake.messages_to(GROUP))
            sent = await bot.runtime.push(DAY_TWO)
            messages = sent_since(fake, GROUP, start)
            assert sent == len(messages) == 1 + 10 + 1
            header, cards, overview = messages[0], messages[1:11], messages[11:]
            assert "抓取总数：52 篇 | 本页显示：36 篇" in header["text"]  # after this group's mutes

            card_titles = [c["text"].split("\n")[0] for c in cards]
            assert {t.rsplit(" ", 1)[0] for t in card_titles} == {
                "Neural speech codec",
                "Robot navigation in crowds",
            }
            assert sum("codec" in t for t in card_titles) == 7
            for card in cards:
                why = card["text"].split("\n")[3]
                expected = (
                    "与你点赞的 4 篇论文相似"
                    if "codec" in card["text"]
                    else "关注：navigation · crowded corridors"
                )
                assert why.startswith("💡 ") and expected in why
            # Expanding a card (a group may edit it) keeps its why-line.
            query = fake.press(GROUP, cards[0]["message_id"], user=user_json(MEMBER))
            await fake.wait_for(lambda: query in fake.answers)
            expanded = fake.chats[GROUP].messages[cards[0]["message_id"]]
            assert expanded["text"].split("\n")[3] == cards[0]["text"].split("\n")[3]
            assert "背景 Neural speech codec" in expanded["text"]
            (listing,) = overview
            assert "reply_markup" not in listing and len(listing["text"]) <= 4096
            assert listing["text"].startswith("其余 26 篇，按与本聊天的相关度排序")
            lines = listing["text"].split("\n")[1:]
            assert [line.split(". ", 1)[0] for line in lines] == [str(n) for n in range(11, 37)]
            listed = [line.split(". ", 1)[1].removesuffix(" 📖") for line in lines]
            assert all("Symbolic music generation" in t for t in listed[-8:])  # disliked: last
            shown = card_titles + listed
            assert sorted(shown) == sorted(
                i.paper.title for i in day_two if "survey" not in i.paper.title
            )  # each paper once; the muted ones nowhere
            assert not any("survey" in m["text"] for m in messages)

            # Every overview item opens its breakdown in the reader's private chat.
            urls = links(listing)
            deep = [u for u in urls if u.startswith(f"https://t.me/{BOT_USERNAME}?start=")]
            assert len(deep) == 26 and len([u for u in urls if "arxiv.org/abs/" in u]) == 26
            paper_id = parse_start_payload(deep[0].split("start=", 1)[1])
            fake.command(PRIVATE, f"/start {deep[0].split('start=', 1)[1]}")
            await fake.wait_for(lambda: fake.messages_to(PRIVATE))
            assert fake.messages_to(PRIVATE)[0]["text"].startswith(listed[0])
            assert paper_id and paper_id.startswith("2602.2")
            for message in messages:
                parse_html(message["html"])
            assert {code for _method, code, _text in fake.errors} <= {429}  # waited out, never lost
            assert len(llm.embedding_requests) == 1  # 40 candidates + 8 rated papers in one batch
            assert await bot.runtime.push(DAY_TWO) == 0
            assert len(llm.embedding_requests) == 1  # cached

            # /interests and /settings max_cards
            fake.command(GROUP, "/settings max_cards 5", user=user_json(ADMIN))
            fake.command(GROUP, "/settings max_cards 500", user=user_json(ADMIN))
            await fake.wait_for(lambda: len(sent_since(fake, GROUP, start + len(messages))) == 2)
            fake.command(GROUP, "/interests", user=user_json(MEMBER))
            await fake.wait_for(lambda: len(sent_since(fake, GROUP, start + len(messages))) == 3)
            answers = [m["text"] for m in sent_since(fake, GROUP, start + len(messages))]
            assert sorted(answers[:2]) == sorted(
                [ZH["max_cards_set"].format(n=5), ZH["max_cards_bad"].format(limit=50)]
            )
            assert answers[2].startswith('关注：navigation, "crowded corridors"\n屏蔽：survey\n评分：16 次')
            assert "最多 5 张" in answers[2]
        finally:
            await bot.stop()
            await fake.stop()
