"""Background work: the queue, the periodic schedule, the sync runner, the outbox with its
table of effects, and the write-back of follow-ups to calendars.

Jobs own their transactions. Unlike a service (one unit of work, one commit), a job
commits each step that other workers must see at once or that a crash must not undo,
and never holds a write open across a call to another server (SQLite has one write lock
for everybody, and a calendar server may take its time):

- A claim is committed before the work it claims, so that exactly one worker goes on,
  and a worker killed mid-way leaves a lease that simply expires: a periodic job's turn
  (`schedule.claim`), a source's sync lock (`sync._claim`), an outbox entry with its
  follow-up and the attempt counted (`outbox.claim`).
- A sync commits its meetings in batches of `sync.WRITE_BATCH` rows, so other writers
  get the lock in between. The source's cursor is stored with the last batch only: a
  crash between batches makes the next sync read the same changes again, and the rows
  already written match by their key, so nothing is lost or doubled.
- What the outside call returned (the source's new state, an entry done or to retry) is
  committed once, after the call.

The services a job calls commit their own unit of work. Push channels
(`services.google.channels`) call Google the same way: a channel's row is committed
before the watch call, whose handshake can reach the webhook before the call returns.
Services reach into this package only to record or start work: an outbox entry
(`outbox.record`, `record_once`, `retry`, or `writeback.followup_changed` and
`write_upcoming`, which record writes), a job (`queue.enqueue`), for disconnecting Google
`effects.process` (its channels stop before the grant is revoked), and for the sample
calendar `sync.sync_source` (read within the request, so its prompts are there when the
inbox opens).
"""
