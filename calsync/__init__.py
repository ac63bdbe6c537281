"""calsync: reads a salesperson's calendars, asks how each meeting went, plans the next touch.

Importing the package does no I/O; `calsync.app.create_app` wires everything.
"""
