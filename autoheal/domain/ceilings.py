"""Limits a run meets again, in the services' words: a log, a packet, a message, a query or a session past what
the engine or service allows. Part of the configuration sign in autoheal/domain/rules.py (kept apart for size): a
rerun sends the same request into the same limit, so a person changes the job or the setting."""

from __future__ import annotations

CEILINGS = (
    # Limits a run meets again, in the services' words: SQL Server's 9002 ("The transaction log for database 'x'
    # is full due to 'ACTIVE_TRANSACTION'"), MySQL's 1153 ("Got a packet bigger than 'max_allowed_packet'
    # bytes"), an Azure Function past its functionTimeout ("FunctionTimeoutException: Timeout value of 00:05:00
    # was exceeded by function"), SharePoint's list view threshold, a transaction quota's "maximum execution
    # time exceeded", Azure Automation's fair share limit on a job's hours.
    r"transaction log for database .{0,80} is full|max_allowed_packet|functiontimeoutexception|"
    r"timeout value of [\d:.]+ was exceeded by function|list view threshold|maximum execution time exceeded|"
    r"fair share limit|"
    # SQL Server's 8632 ("An expression services limit has been reached": a query too complex to compile),
    # Oracle's ORA-02395 (a profile's limit on what one call reads), a Kafka consumer whose batches take
    # longer than its max.poll.interval.ms (kafka-python writes max_poll_interval_ms): a rerun meets them again.
    r"expression services limit has been reached|ora-02395|exceeded call limit on|"
    r"longer than the configured max[._]poll[._]interval[._]ms|"
    # A server that says so itself ("Please do not resubmit the last request", Teradata), a query past its
    # workload group's memory limit (SQL Server's resource governor), a row past a connector's message size
    # (BigQuery's "a single table row is larger than the maximum message size").
    r"do not resubmit|maximum configuration limit in workload group|larger than the maximum message size|"
    # A message over what a Service Bus link allows ("exceeds the limit (262144 bytes) currently allowed on
    # the link", MessageSizeExceeded).
    r"exceeds the limit \(\d+ bytes\)|messagesizeexceeded|"
    # A Service Bus entity full ("The maximum entity size has been reached or exceeded for Topic", QuotaExceeded):
    # messages have to be received or the size raised.
    r"maximum entity size has been reached|"
    # gRPC's limit on a message ("Received message larger than max (8388919 vs. 4194304)", its
    # RESOURCE_EXHAUSTED status): the size is the call's, a retry sends the same.
    r"message larger than max|"
    # Kusto's result-set limit (E_QUERY_RESULT_SET_TOO_LARGE; its query-limits page is a development document of
    # tests/data/corpus): the query or its truncation setting is changed, or the same one stops again.
    r"e_query_result_set_too_large|"
    # The AWS SDK's client-side pool drained ("Unable to execute HTTP request: Timeout waiting for connection from
    # pool"): streams the job does not close, or a pool smaller than its parallelism (EMR's and S3A's
    # fs.s3(a).connection.maximum); the same job drains it again.
    r"timeout waiting for connection from pool"
)
