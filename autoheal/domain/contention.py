"""Contention in the engines' own words: a transaction, lock or connection slot another client holds, which
frees as that client finishes. Part of the resource-exhausted sign in autoheal/domain/transient.py (kept apart
for size); the corpus labels such contention ThrottlingError (tests/data/corpus/README.md)."""

from __future__ import annotations

from autoheal.domain.rules import IN_USE

CONTENTION = (
    # Contention that frees as the other transactions finish: a deadlock victim, a lock to wait for.
    # Connections, sessions and server processes exist only while in use: a limit on them frees as other
    # clients disconnect (MySQL 1040 "Too many connections", PostgreSQL 53300 "sorry, too many clients
    # already", Oracle ORA-00020 "exceeded maximum number of processes").
    rf"too many (connections|clients)|(exceeded|reached) (the )?(maximum|max) number of {IN_USE}|"
    # PostgreSQL's 53300 when the last slots are kept for superusers ("remaining connection slots are reserved
    # for ..."): the same limit, reached by others' connections.
    r"remaining connection slots are reserved|"
    # Optimistic concurrency the database resolves by reading again: MySQL 1020 "Record has changed since last
    # read"; the statement run again reads the new row.
    r"(record|row) has changed since (it was )?last read|"
    # The engines' own words for a transaction that lost to another and is to be run again: PostgreSQL's
    # 40001/40P01 ("could not serialize access due to concurrent update", "deadlock detected"), MySQL's
    # 1213 ("Deadlock found when trying to get lock; try restarting transaction"), Oracle's ORA-00060
    # ("deadlock detected while waiting for resource") and ORA-00054 ("resource busy and acquire with
    # NOWAIT specified"); a hot standby that cancels a query replaying over it.
    r"deadlock (detected|found)|could not serialize access|try restarting (the )?transaction|"
    r"resource busy and acquire with nowait|canceling statement due to conflict with recovery|"
    r"deadlock victim|was deadlocked|cannot obtain a lock resource|(rerun|re-run) your statement when|"
    # The same in SQL Server's words where the number is not quoted (knowledge/sql_server_errors.toml holds the
    # numbers, after EF Core's transient list): 601's NOLOCK scan, 3960's snapshot update conflict, the
    # in-memory OLTP validation failures 41302/41305/41325, the "busy with another operation" family
    # (45157, 45182, 49510, 40890). Oracle's
    # ORA-08177 ("can't serialize access for this transaction"), Salesforce's UNABLE_TO_LOCK_ROW (a record
    # another job holds), Cosmos DB's 449 RetryWith ("Retry to avoid conflicts": its status-code page calls it
    # transient).
    r"could not continue scan with nolock due to data movement|snapshot isolation transaction aborted due to "
    r"update conflict|failed to commit due to a (serializable|repeatable read) validation failure|"
    r"has been updated since (this|the) transaction started|busy with (another|an ongoing) operation|"
    r"(can't|cannot|can not) serialize access|unable_to_lock_row|"
    r"retry to avoid conflicts|\b449\b.{0,12}retry ?with|"
    # A lock or transaction another client holds frees when it finishes: a Service Bus session "currently
    # locked by another client" (SessionCannotBeLockedException), a MongoDB WriteConflict between
    # multi-document transactions (Cosmos DB's MongoDB troubleshooting page: retry until it succeeds).
    r"(currently )?locked by another (client|process|session|transaction|operation|receiver)|writeconflict|"
    # The same contention in other engines' words: Redshift's 1023 "Serializable isolation violation on table",
    # Oracle's ORA-01466 (a consistent read met a table whose definition just changed), a Service Bus message
    # lock that expired while it was processed (MessageLockLost: "The lock supplied is invalid. Either the lock
    # expired, or the message has already been removed").
    r"serializable isolation violation|ora-01466|messagelocklost|the lock supplied is invalid|"
    # A lock that was not granted in the time allowed, in the words of Derby/Hive/JDBC engines ("A lock could
    # not be obtained within the time requested", HiveException "could not acquire lock"): the holder finishes.
    r"(could not|couldn't|unable to|failed to) (obtain|acquire|get) (a |the )?lock|"
    r"lock could not be obtained|"
    r"conflicting (multi-document )?transaction|"
    # A lease another instance took while partitions were rebalanced (the Event Processor Host's "Lease lost while
    # updating checkpoint"): ownership settles, and the next run takes a lease of its own.
    r"lease lost while|"
    # An operation another caller started on the same resource, which ends: Resource Manager's
    # AnotherOperationInProgress in words ("Another conflicting operation is in progress",
    # knowledge/azure_errors.toml: retry when it ends), a refresh, an indexer run or a scale operation already
    # running that allows no second one at once.
    r"another [\w ]{0,40}?(is )?(already|currently) (executing|running|in progress)|"
    r"another [\w ]{0,30}operation (is )?in progress|concurrent invocations are not allowed"
)
