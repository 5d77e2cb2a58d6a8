"""The SQL store of schools, pupils, SEN Support Plans, reviews and the audit trail.

``db`` opens engines and sessions, ``models`` declares the tables and
``access`` decides who may see and change each pupil's record; the other
modules are intent-named functions that the actions, the web server, the
schedule and the admin command call. Callers open one session per piece of
work and pass it down.
"""
