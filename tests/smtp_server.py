"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), recording what it receives.

``SmtpRecorder.messages`` are the parsed e-mails as delivered; ``refuse`` makes the next DATA
answers a given SMTP reply (e.g. ``"451 4.3.0 Try again later"``); ``dedupe`` makes the server
drop a message whose Message-ID it already accepted, as servers that de-duplicate do.
``silent_server`` accepts connections and never answers (a server that times out).
"""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SmtpRecorder:
    dedupe: bool = False
    refuse: list[str] = field(default_factory=list)
    raw: list = field(default_factory=list)          # every accepted DATA, duplicates included
    messages: list = field(default_factory=list)     # what a mailbox shows (after de-duplication)
    envelopes: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse.pop(0)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.raw.append(message)
        if self.dedupe and any(m["Message-ID"] == message["Message-ID"] for m in self.messages):
            return "250 OK (duplicate Message-ID dropped)"
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@contextmanager
def smtp_server(**options):
    """``(recorder, env)``: a running server and the PORTAL_SMTP_* variables that reach it."""
    recorder = SmtpRecorder(**options)
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, {"PORTAL_SMTP_HOST": "127.0.0.1", "PORTAL_SMTP_PORT": str(port),
                         "PORTAL_SMTP_SECURITY": "none", "PORTAL_SMTP_FROM": "portal@pco-bcp.gc.ca"}
    finally:
        controller.stop()


@contextmanager
def silent_server():
    """A TCP server that accepts and never says a word: its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()
