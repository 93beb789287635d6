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
            "/today – 立即发送最近一期\n"
            '/search 关键词 | "短语" | author:姓名 – 搜索读过的所有论文\n\n'
            "回复一张论文卡片、详细解读或我的回答即可就这篇论文提问（在群里请回复我的消息）。\n\n"
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
        "not_said": "论文中没有提到这一点。",
        "ask_hint": "💬 想问这篇论文什么？回复上面的解读或这条消息即可提问。",
        "sections_used": "依据：{sections}",
        "unverified": "⚠️ 以下数字未在论文中找到，请核对：{numbers}",
        "ask_limit": "今天的提问次数已用完（每人每天 {limit} 个），明天再来吧。",
        "ask_too_long": "问题太长了（最多 {limit} 个字符），请缩短后再问。",
        "ask_failed": "暂时无法回答，请稍后再试。",
        "ask_off": "本机器人未开放提问。",
        "ask_no_llm": "提问需要配置大语言模型，本机器人尚未配置。",
        "search_usage": '用法：/search 关键词，或 /search "短语"，或 /search author:姓名',
        "search_bad": "无法搜索：{error}",
        "search_none": "没有找到与“{query}”匹配的论文。",
        "search_head": "🔎 “{query}”的搜索结果（{count} 篇，按相关度排序）：",
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
            "/today – the latest digest now\n"
            '/search words | "phrase" | author:Name – search every paper I have read\n\n'
            "Reply to a paper's card, its breakdown or one of my answers to ask that paper a question "
            "(in a group, reply to my message).\n\n"
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
        "not_said": "The paper does not say.",
        "ask_hint": "💬 A question about this paper? Reply to the breakdown above or to this message.",
        "sections_used": "From: {sections}",
        "unverified": "⚠️ Not found in the paper, check before use: {numbers}",
        "ask_limit": "You have asked your {limit} questions for today; ask again tomorrow.",
        "ask_too_long": "That question is too long (at most {limit} characters); please shorten it.",
        "ask_failed": "The question could not be answered right now; please try again later.",
        "ask_off": "Questions are switched off for this bot.",
        "ask_no_llm": "Questions need an LLM, and this bot has none configured.",
        "search_usage": 'Usage: /search words, /search "a phrase" or /search author:Name',
        "search_bad": "Cannot search for that: {error}",
        "search_none": "No paper matches “{query}”.",
        "search_head": "🔎 Results for “{query}” ({count}, best first):",
    },
}


def text(language: str, key: str, **values: object) -> str:
    return TEXTS.get(language, TEXTS["en"])[key].format(**values)
