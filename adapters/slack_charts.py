"""The chart of the month under `stats` on Slack (ARXIV_BOT_SLACK_CHARTS): drawn off the event
loop by `bot.conversation.stats_commands.chart_png`, uploaded with `files_upload_v2` (the
`files:write` scope) into the channel, or the thread a mention came from.

A chart is a bonus over the sparklines: every refusal (a missing scope, a channel the bot is not
in, Slack not answering, matplotlib not installed) becomes one short reason for the text reply
and one info log line, never an exception. This module must not post the text reply itself,
keep a token, or log one.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversation.context import Chart
from bot.conversation.stats_commands import ChartUnavailable, chart_png
from bot.i18n import N_, _

log = logging.getLogger(__name__)

FILENAME = "stats-30-days.png"
REASONS = {
    "missing_scope": N_("the app lacks the files:write scope (add it and reinstall the app)"),
    "not_in_channel": N_("the bot is not in this channel (invite it)"),
    "channel_not_found": N_("the bot is not in this channel (invite it)"),
    "not_allowed_token_type": N_("this token may not upload files"),
}
NOT_ANSWERED = N_("Slack did not answer the upload ({error})")
REFUSED = N_("Slack refused the upload ({error})")


async def upload_chart(
    client: AsyncWebClient, channel: str, chart: Chart, *, thread_ts: str | None = None
) -> str | None:
    """Upload the chart into `channel` (in `thread_ts`'s thread when given); None once shared,
    else why not, in a few words."""
    try:
        png = await asyncio.to_thread(chart_png, chart)
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            content=png,
            filename=FILENAME,
            title=_("Papers selected, likes and LLM $ per day"),
            alt_txt=_("Bar charts of papers selected, likes and LLM dollars per day, 30 days"),
        )
    except ChartUnavailable as exc:
        return _refused(channel, str(exc))
    except SlackApiError as exc:
        status = exc.response.status_code
        code = str(exc.response.get("error") or f"HTTP {status}")
        if status == 429 or status >= 500:
            return _refused(channel, NOT_ANSWERED, error=code)
        return _refused(channel, REASONS.get(code, REFUSED), error=code)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        return _refused(channel, NOT_ANSWERED, error=type(exc).__name__)
    return None


def _refused(channel: str, reason: str, **values: str) -> str:
    """Log why (in English) and say it to the reader (in the reply's language); `reason` is a
    marked message."""
    log.info("Slack: no chart for channel %s: %s", channel, reason.format(**values))
    return _(reason).format(**values)


def with_reason(text: str, reason: str | None) -> str:
    """The text reply, with the line saying why no chart came (if none did), in the reply's
    language."""
    return text if reason is None else text + "\n" + _("No chart: {reason}").format(reason=reason)
