"""The project's own spaCy pipeline, built from source with no downloaded model."""
