"""Custom actions of the SEN Support Assistant, one module per family."""
