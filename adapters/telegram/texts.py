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
