"""The rig server's OpenAI-compatible chat endpoint, `POST /v1/chat/completions`, for the clean-up.

By default it cleans like a careful model would, but simply: it takes the transcript out of the
block the request put it in, drops "um" and "uh", and gives it a capital and a final period. Queued
replies answer instead: a canned text (an "answer" rather than a clean-up, say), an HTTP failure,
a delay, a body trickled a byte at a time, or a dropped connection. Every request body is kept.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.rig.server import Received, Reply

_BLOCK = re.compile(r"<<<TRANSCRIPT (\w+)>>>\n(.*)\n<<<END TRANSCRIPT \1>>>", re.DOTALL)
FILLERS = {"um", "uh", "umm", "er"}


@dataclass
class ChatReply:
    """How to answer one chat request."""

    content: str | None = None  # the model's answer; None: the default clean-up of the transcript
    status: int = 200
    error: str = "The server had an error while processing your request."
    delay: float = 0.0
    trickle: float = 0.0  # seconds between the bytes of the body (padded so that it never ends in a test)
    drop: bool = False


def default_cleanup(transcript: str) -> str:
    words = [w for w in transcript.split() if w.strip(",.").lower() not in FILLERS]
    text = " ".join(words).rstrip(".") + "."
    return text[:1].upper() + text[1:]


class ChatEndpoint:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []  # the JSON bodies received, in order
        self.headers: list[dict[str, str]] = []
        self._replies: deque[ChatReply] = deque()
        self._lock = threading.Lock()

    def queue(self, *replies: ChatReply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def transcripts(self) -> list[str]:
        """The transcript each request carried inside its block."""
        found = []
        for body in self.requests:
            user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
            block = _BLOCK.search(user)
            found.append(block.group(2) if block else "")
        return found

    def handle(self, received: Received, body: bytes) -> Reply:
        from tests.rig.server import Reply

        try:
            request = json.loads(body)
        except ValueError:
            return Reply.openai_error(400, "We could not parse the JSON body of your request.")
        with self._lock:
            self.requests.append(request)
            self.headers.append(received.headers)
            reply = self._replies.popleft() if self._replies else ChatReply()
        if reply.status != 200:
            answer = Reply.openai_error(reply.status, reply.error, type_="server_error")
        else:
            block = _BLOCK.search(next((m["content"] for m in request["messages"] if m["role"] == "user"), ""))
            content = reply.content if reply.content is not None else default_cleanup(block.group(2) if block else "")
            answer = Reply(
                200,
                {
                    "id": "chatcmpl-rig",
                    "object": "chat.completion",
                    "model": request.get("model"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                    ],
                },
            )
        answer.delay, answer.drop, answer.trickle = reply.delay, reply.drop, reply.trickle
        return answer
