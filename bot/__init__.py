"""The SEN Support Assistant's own code, in wings by process and layer.

``core`` is pure logic; ``store`` the SQL store, with ``store.access`` the one
rule of who may see what; ``documents`` the printable plan and evidence
summary; ``rasa_server`` what the Rasa server loads; ``telegram`` and ``web``
their own processes; ``ops`` the launchers, the schedule and the admin
command; ``nlp`` the spaCy build. Settings are read in ``settings`` only.
The custom actions are in the top-level ``actions`` package.
"""
