"""What the bot says, per digest language (zh, en). Format fields are filled by the caller."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "bad_date": "日期无效：{value!r}，请用 YYYY-MM-DD，例如 2026-02-18。",
        "future": "{day} 还没到，请选今天或更早的日期。",
        "no_announcement": "{day} 没有新的 arXiv 公告（周末或假期）。以下是最近一期：{latest}。",
        "nothing_yet": "{day} 没有新论文，也还没有更早的一期。",
        "not_yet": "{day} 的日报将在 {at}（{tz}）发布。以下是最近一期：{latest}。",
        "not_yet_none": "{day} 的日报将在 {at}（{tz}）发布，目前还没有更早的一期。",
        "failed": "暂时无法生成 {day} 的日报，请稍后再试。",
        "refused": "只有拥有「管理频道」权限的成员才能订阅或退订。",
        "guild_only": "订阅只能在服务器频道里设置。",
        "subscribed": "本频道已订阅 arXiv 日报（{categories}），每天 {at}（{tz}）推送。",
        "unsubscribed": "本频道已退订 arXiv 日报。",
        "not_subscribed": "本频道没有订阅。",
        "status_on": "本频道订阅了 {categories}，每天 {at}（{tz}）推送。",
        "status_off": "本频道未订阅（`/digest subscribe` 可订阅）。",
        "status_latest": "最近一期：{day}，{shown} 篇。",
        "status_none": "还没有任何一期日报。",
        "unknown_button": "这个按钮已失效或无法识别。",
        "bad_categories": "{error}",
        "error": "出了点问题，请稍后再试。",
        "missing_permissions": "注意：机器人在本频道缺少「查看频道」「发送消息」或「嵌入链接」权限，每日推送会失败。",
    },
    "en": {
        "bad_date": "Bad date {value!r}: use YYYY-MM-DD, e.g. 2026-02-18.",
        "future": "{day} is in the future; pick today or an earlier day.",
        "no_announcement": (
            "No arXiv announcement on {day} (weekend or holiday). Here is the latest digest: {latest}."
        ),
        "nothing_yet": "No new papers on {day}, and no earlier digest yet.",
        "not_yet": "The digest of {day} comes out at {at} ({tz}). Here is the latest one: {latest}.",
        "not_yet_none": "The digest of {day} comes out at {at} ({tz}); there is no earlier digest yet.",
        "failed": "The digest of {day} could not be made right now; try again later.",
        "refused": "Only members who can manage this channel can subscribe or unsubscribe it.",
        "guild_only": "Subscriptions are set up in server channels.",
        "subscribed": "This channel now gets the arXiv digest ({categories}) daily at {at} ({tz}).",
        "unsubscribed": "This channel no longer gets the arXiv digest.",
        "not_subscribed": "This channel was not subscribed.",
        "status_on": "This channel is subscribed to {categories}, daily at {at} ({tz}).",
        "status_off": "This channel is not subscribed (use `/digest subscribe`).",
        "status_latest": "Latest digest: {day}, {shown} papers.",
        "status_none": "No digest yet.",
        "unknown_button": "This button is no longer valid or was not recognised.",
        "bad_categories": "{error}",
        "error": "Something went wrong; please try again later.",
        "missing_permissions": (
            "Note: the bot lacks View Channel, Send Messages or Embed Links here, so the daily push would fail."
        ),
    },
}
