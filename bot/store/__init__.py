"""The SQL store of schools, pupils, SEN Support Plans, reviews and audit events.

``db`` opens engines and sessions, ``models`` declares the tables and
``queries`` holds the intent-named functions the actions and the admin
command call. Callers open one session per piece of work and pass it down.
"""
