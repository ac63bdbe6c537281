"""The operations a person or a job performs: accounts and settings, sources and their
credentials, meetings, prompts and answers, deals and follow-ups, cadences, samples and
Google connections (ARCHITECTURE.md maps each module). Pages, API routes, the CLI and jobs
call these.

The transaction rule: a public service function is one unit of work. It commits once,
when its work is done, and leaves nothing pending; if it raises, nothing it did is kept
(it checks before it changes anything where it can, and the request's or job's session
is rolled back in one place: `calsync.db`'s teardown, for requests and jobs alike).
Functions documented as *part of the caller's unit of work* only add and flush: other
services and jobs call them inside their own unit. A function that works through an
unbounded set (prompting a flood of ended meetings) commits once per batch, so no batch
holds the write lock long, and says so: each batch is then its unit of work, and a crash
between batches leaves whole batches behind. Views never commit and never query models;
services never import Flask.
"""
