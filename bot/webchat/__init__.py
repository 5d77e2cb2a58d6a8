"""The web chat: the browser widget and demo page in this folder, and its Rasa channel (``channel.py``)."""
