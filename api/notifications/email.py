"""Email through SMTP (`smtplib`), plain text in UTF-8.

The Message-ID is made from the delivery's idempotency id, so that every retry of one message
carries the same one (mail systems that see it twice can drop the copy). One connection serves a
dispatcher's batch; an error closes it, and the next message opens another. Errors are stored
as the SMTP code or the exception type: server replies may quote the recipient's address.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from api.notifications.errors import DeliveryFailed
from api.settings import Settings


def message_id(idempotency_id: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "volmatch"
    return f"<{idempotency_id}@{domain}>"


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.smtp_host is not None
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
        if s.smtp_user:
            password = s.smtp_password.get_secret_value() if s.smtp_password else ""
            smtp.login(s.smtp_user, password)
        return smtp

    def send(self, to: str, subject: str, text: str, idempotency_id: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(idempotency_id, self.settings.smtp_from)
        message.set_content(text, charset="utf-8")
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise DeliveryFailed(f"SMTP {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused:
            self.close()
            raise DeliveryFailed("SMTP recipient refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryFailed(f"SMTP unavailable ({type(exc).__name__})") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
