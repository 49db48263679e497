"""The PostgreSQL database backend of the scale-out mode (``ENGINE = "pawfile.lib.postgres"``)."""
