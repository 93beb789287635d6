"""What the Telegram bot says, per digest language (zh, en). Format fields are filled by the caller."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "admin_only": "只有本群管理员才能更改订阅。",
        "stale_button": "这个按钮已失效。",
        "gone_paper": "这篇论文已不在存档中。",
        "busy": "正忙，请稍后再试。",
        "help": (
            "我每天推送 arXiv 日报：一条统计信息，然后每篇论文一张卡片，卡片上的按钮可查看详细解读。\n\n"
            "/subscribe [分类] – 在这里每天接收日报（例如 /subscribe cs.SD eess.AS）\n"
            "/unsubscribe – 停止接收\n"
            "/settings – 查看本聊天的订阅\n"
            "/today – 立即发送最近一期\n\n"
            "频道：把我添加为可发消息的管理员，然后在频道里发送 /subscribe。"
        ),
        "digest_of": "{categories} 的日报，每天 {at}（{tz}）推送",
        "bad_categories": "{error}。示例：/subscribe cs.SD eess.AS",
        "subscribed": "已订阅：{what}。/unsubscribe 可停止。",
        "unsubscribed": "已退订。/subscribe 可重新订阅。",
        "not_subscribed": "本聊天没有订阅。",
        "settings_on": "本聊天接收{what}。",
        "settings_off": "本聊天未订阅。/subscribe 可接收{what}；也可指定其他分类。",
        "no_digest": "{categories} 还没有生成过日报。",
        "too_many_categories": "每个订阅最多 {limit} 个分类，请少选几个。",
        "too_many_sets": "本机器人的分类组合已达上限（{limit} 种）：请选用已有的分类组合，或使用默认分类。",
        "today_cooldown": "日报刚刚在该群发过；{minutes} 分钟内不再重复发送。",
    },
    "en": {
        "admin_only": "Only this group's admins can change its subscription.",
        "stale_button": "This button is no longer valid.",
        "gone_paper": "This paper is no longer in the archive.",
        "busy": "Busy right now; please try again in a moment.",
        "help": (
            "I post a daily arXiv digest: a header and one card per paper, with a button for the detailed "
            "breakdown.\n\n"
            "/subscribe [categories] – get the digest here every day (e.g. /subscribe cs.SD eess.AS)\n"
            "/unsubscribe – stop it\n"
            "/settings – what this chat gets\n"
            "/today – the latest digest now\n\n"
            "In a channel: add me as an admin who can post, then post /subscribe there."
        ),
        "digest_of": "the daily digest of {categories}, every day at {at} ({tz})",
        "bad_categories": "{error}. Example: /subscribe cs.SD eess.AS",
        "subscribed": "Subscribed: {what}. /unsubscribe stops it.",
        "unsubscribed": "Unsubscribed. /subscribe starts it again.",
        "not_subscribed": "This chat was not subscribed.",
        "settings_on": "This chat gets {what}.",
        "settings_off": "This chat is not subscribed. /subscribe gets {what}; name categories to choose others.",
        "no_digest": "No digest of {categories} has been built yet.",
        "too_many_categories": "At most {limit} categories per subscription; please choose fewer.",
        "too_many_sets": (
            "This bot serves its maximum of {limit} different category sets: pick a set already in use, "
            "or the default one."
        ),
        "today_cooldown": "The digest was posted in that chat moments ago; it is posted at most once every {minutes} minutes.",
    },
}


def text(language: str, key: str, **values: object) -> str:
    return TEXTS.get(language, TEXTS["en"])[key].format(**values)
