"""nurture's SMTP delivery against a real SMTP server (aiosmtpd): the EHLO name is the configured one."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from services.nurture.config import NurtureConfig, SmtpSettings
from services.nurture.mailer import deliver
from tests.integration.harness import free_port


class HeloRecorder:
    def __init__(self) -> None:
        self.names: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls this hook by name
        self.names.append(session.host_name)
        return "250 Message accepted for delivery"


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "hello@salesflow.example", "ada@example.com", "Hi"
    mail.set_content("Hello")
    return mail


def test_the_relay_is_greeted_with_the_configured_name() -> None:
    recorder = HeloRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpSettings(port=port, local_hostname="mx1.salesflow.example")
        asyncio.run(deliver(message(), smtp))
        asyncio.run(deliver(message(), smtp))
    finally:
        controller.stop()
    assert recorder.names == ["mx1.salesflow.example"] * 2


def test_the_name_is_looked_up_once_unless_given() -> None:
    assert NurtureConfig.from_env({"SMTP_LOCAL_HOSTNAME": "mx1.salesflow.example"}).smtp.local_hostname == (
        "mx1.salesflow.example"
    )
    assert NurtureConfig.from_env({}).smtp.local_hostname  # the host's FQDN, never empty
