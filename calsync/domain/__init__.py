"""The pure heart of calsync: plain data in, plain data out; no Flask, database or network.

Which meetings get a prompt, how an outcome changes a deal, what the cadence suggests;
and, in `vocabulary`, every state and code the rest of calsync stores or shows.
"""
