"""How dates read in each language: Django format modules (``FORMAT_MODULE_PATH``).

The rule: a page, a mail or a report never spells a date format itself. Templates write
``{{ day|date:"DATE_FORMAT" }}`` (or ``DATETIME_FORMAT``, ``MONTH_DAY_FORMAT`` under a
month heading, ``YEAR_MONTH_FORMAT`` for the heading); Python display code calls
``pawfile.lib.dates.date_text``. Each language's module below chooses those formats once:
English "2 Dec 2026", Spanish "2 dic 2026". Machine-readable values (``<time datetime>``,
``<input type="date">``, file names, cache keys) stay ISO 8601.

What a module leaves out (input formats, separators) comes from Django's own module for
the language.
"""
