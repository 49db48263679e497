"""The demo household and the list of every page, shared by the layout browser test
(``tests/e2e/test_layout.py``) and ``make screenshots`` (``tests/screens/shoot.py``)."""
