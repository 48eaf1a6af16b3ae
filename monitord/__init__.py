"""monitord: watches hosted-VoIP platforms the way their SLAs are written."""

__version__ = "0.1.0"
