"""Backups of the whole site: one archive per backup, checked, restorable, scheduled.

``archive`` (the tar, its manifest, age encryption), ``sqlite`` and ``postgres`` (the database
of each mode), ``media`` (stored files through Django's storage API), ``s3`` (archives in a
bucket), ``services`` (backup, verify, restore), ``retention`` (which archives to keep),
``status`` (what /health and /metrics say about the last backup). The periodic task is
``pawfile.ops.tasks``.
"""
