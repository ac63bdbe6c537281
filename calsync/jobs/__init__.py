"""Background work: the queue, the periodic schedule, the sync runner, the outbox and its
handlers, and the write-back of follow-ups to calendars.

Jobs own their transactions explicitly: a job commits each step it must not repeat (a
claim before the outside call, each batch of a sync) and calls services, which commit
their own unit of work. Services reach into this package only to record an outbox entry
(`outbox.record`) or to enqueue a job (`queue.enqueue`).
"""
