"""Recording a pupil's SEN Support Plan: its sections, and checks on what is typed."""
