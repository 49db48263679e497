"""The outbox: every side effect (a mail, and later a push, a message, a webhook call) is a
row first, delivered by the task queue from its id. See ``services`` for the life of a row."""
