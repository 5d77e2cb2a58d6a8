"""Review meetings: capturing them by chat, and what they decided."""
