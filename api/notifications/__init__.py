"""Delivering the outbox: the dispatcher (`dispatcher`), its scheduler of reminders and no-shows
(`scheduler`), the channels (`webhook`, `email`, `sms`) and the volunteers' messages
(`messages`, with templates in Chinese and English under `templates/`). Events are recorded by
`api.services.events`; see docs/notifications.md for the delivery semantics."""
