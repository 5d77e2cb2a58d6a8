"""Process-level parts of the SEN Support Assistant: settings, the launcher and the NLP build."""
