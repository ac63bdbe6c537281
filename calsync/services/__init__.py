"""The operations a person or a job performs: accounts, sources, prompts, answers, deals,
settings, samples and Google connections. Pages, API routes, the CLI and jobs call these.

The transaction rule: a public service function is one unit of work. It commits once,
when its work is done, and leaves nothing pending; if it raises, nothing it did is kept
(the session is rolled back by whoever catches the error, and no partial work was
flushed to the database's commit). Functions documented as *part of the caller's unit
of work* only add and flush: other services and jobs call them inside their own unit.
A function that works through an unbounded set (prompting a flood of ended meetings)
commits once per batch, so no batch holds the write lock long, and says so: each batch is
then its unit of work, and a crash between batches leaves whole batches behind.
Views never commit and never query models; services never import Flask.
"""
