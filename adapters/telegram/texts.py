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
            '/follow 词 "短语" author:作者 – 关注，相关论文排在前面\n'
            "/unfollow … – 取消关注或屏蔽\n"
            "/mute 词 – 屏蔽含这些词的论文\n"
            "/interests – 本聊天关注、屏蔽了什么，评分了多少\n"
            "/settings max_cards N – 每天最多几张卡片，其余列入目录\n"
            "卡片上的 👍/👎 教我本聊天喜欢什么（再按一次撤销）。\n\n"
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
        "ask_how": "💬 回复这张卡片写下你的问题，我会根据论文全文回答。",
        "sections_used": "依据：{sections}",
        "unverified": "⚠️ 以下数字未在论文中找到，请核对：{numbers}",
        "ask_limit": "今天的提问次数已用完（每人每天 {limit} 个），明天再来吧。",
        "ask_too_long": "问题太长了（最多 {limit} 个字符），请缩短后再问。",
        "ask_failed": "暂时无法回答，请稍后再试。",
        "ask_empty": "问题是空的。",
        "ask_off": "本机器人未开放提问。",
        "ask_no_llm": "提问需要配置大语言模型，本机器人尚未配置。",
        "search_usage": '用法：/search 关键词，或 /search "短语"，或 /search author:姓名',
        "search_bad": "无法搜索：{error}",
        "search_none": "没有找到与“{query}”匹配的论文。",
        "search_head": "🔎 “{query}”的搜索结果（{count} 篇，按相关度排序）：",
        "interests_admin_only": "只有本群管理员才能更改关注和屏蔽。",
        "bad_terms": '{error}。示例：/follow codec "speech enhancement" author:Kamper',
        "followed": "已关注：{terms}。",
        "muted": "已屏蔽：{terms}（含这些词的论文不再出现）。",
        "nothing_new": "这些都已在列表里了。",
        "unfollowed": "已取消：{terms}。",
        "unfollow_none": "没有找到这些关注或屏蔽。/interests 可查看。",
        "interests": "关注：{follows}\n屏蔽：{mutes}\n评分：{ratings} 次（点赞 {liked} 篇，点踩 {disliked} 篇）\n每天卡片：最多 {max_cards} 张，其余列入目录",
        "none": "无",
        "max_cards_set": "好的：每天最多 {n} 张卡片，其余论文列入目录。",
        "max_cards_bad": "用法：/settings max_cards N（N 为 1 到 {limit}）",
        "settings_cards": "每天最多 {n} 张卡片（/settings max_cards N 可改）。",
        "rated_up": "👍 已记录：本聊天会多推送类似论文。",
        "rated_down": "👎 已记录：本聊天会少推送类似论文。",
        "rating_removed": "已撤销评分。",
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
            '/follow word "a phrase" author:Name – rank matching papers first\n'
            "/unfollow … – undo a follow or a mute\n"
            "/mute word – leave out papers that mention it\n"
            "/interests – what this chat follows, mutes and has rated\n"
            "/settings max_cards N – how many papers come as cards; the rest as a list\n"
            "The 👍/👎 on each card teach me what this chat likes (press again to take it back).\n\n"
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
        "ask_how": "💬 Reply to this card with your question; I answer from the paper's full text.",
        "sections_used": "From: {sections}",
        "unverified": "⚠️ Not found in the paper, check before use: {numbers}",
        "ask_limit": "You have asked your {limit} questions for today; ask again tomorrow.",
        "ask_too_long": "That question is too long (at most {limit} characters); please shorten it.",
        "ask_failed": "The question could not be answered right now; please try again later.",
        "ask_empty": "The question was empty.",
        "ask_off": "Questions are switched off for this bot.",
        "ask_no_llm": "Questions need an LLM, and this bot has none configured.",
        "search_usage": 'Usage: /search words, /search "a phrase" or /search author:Name',
        "search_bad": "Cannot search for that: {error}",
        "search_none": "No paper matches “{query}”.",
        "search_head": "🔎 Results for “{query}” ({count}, best first):",
        "interests_admin_only": "Only this group's admins can change what it follows and mutes.",
        "bad_terms": '{error}. Example: /follow codec "speech enhancement" author:Kamper',
        "followed": "Following: {terms}.",
        "muted": "Muted: {terms} (papers that mention them are left out).",
        "nothing_new": "Those are already on the list.",
        "unfollowed": "Removed: {terms}.",
        "unfollow_none": "None of those are followed or muted here. /interests lists them.",
        "interests": "Follows: {follows}\nMutes: {mutes}\nRatings: {ratings} ({liked} papers liked, {disliked} disliked)\nCards a day: at most {max_cards}, the rest as a list",
        "none": "none",
        "max_cards_set": "Done: at most {n} papers a day come as cards, the rest as a list.",
        "max_cards_bad": "Usage: /settings max_cards N (N from 1 to {limit})",
        "settings_cards": "At most {n} cards a day (/settings max_cards N changes it).",
        "rated_up": "👍 Noted: this chat will see more papers like this.",
        "rated_down": "👎 Noted: this chat will see fewer papers like this.",
        "rating_removed": "Rating taken back.",
    },
}


def text(language: str, key: str, **values: object) -> str:
    return TEXTS.get(language, TEXTS["en"])[key].format(**values)
