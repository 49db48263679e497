"""Placeholder logging configuration; replaced by the ops work."""

import logging


def configure(config: dict) -> None:
    logging.basicConfig(level=config.get("level", "INFO"))
