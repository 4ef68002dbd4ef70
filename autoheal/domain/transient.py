"""The transient classes' wording, most specific first: the second of the two lists of signs that
autoheal/domain/rules.py describes (split from it for size; the never signs stay there). The first sign
that matches names the class; a ``weak`` sign gives a confidence below the one at which autoheal acts
alone. A never sign anywhere in the message wins over all of these (autoheal/domain/classifier.py).
"""

from __future__ import annotations

import re

from autoheal.domain.contention import CONTENTION
from autoheal.domain.signs import FRAME_LINE, S, Sign

# A package installer's own text: pip, conda, Maven and Ivy, R's install.packages. A transient network or
# server sign in it is a library installation that met a mirror or index at a bad moment, and on Databricks
# that is its own class (autoheal/domain/classifier.py names it so).
INSTALLER = re.compile(
    r"could not install packages|while getting https?://|files\.pythonhosted\.org|pypi\.org|pip/_vendor|"
    r"condahttperror|conda\.anaconda\.org|repo\.anaconda\.com|could not transfer artifact|"
    r"artifacttransferexception|repo1?\.maven|install\.packages|unable to access index for repository"
)

# ---- 2. the transient classes, most specific first -----------------------------------------------
TRANSIENT_SIGNS: tuple[Sign, ...] = (
    S(
        "blob-missing",
        "UserErrorSourceBlobNotExists",
        r"required blob is missing|specified blob does not exist|usererrorsourceblobnotexist|"
        r"blob .{0,80}(does not exist|is missing)|blobnotfound",
        service="adf",
    ),
    S(
        "driver-not-responding",
        "DatabricksDriverNotResponding",
        r"driver (is )?(up but (is )?)?not responsive|driver_unresponsive|driver[ _]unreachable|"
        r"driver[ _]not[ _]responding|(failed to|could not|unable to) reach (the )?(spark )?driver|"
        r"driver (has )?stopped unexpectedly|driver (is )?(temporarily )?unavailable|driver down|"
        r"driverstoppedexception|spark driver .{0,40}(crash|restart|stopped)|was unresponsive|"
        r"driver (has been )?restarted|lost (connection|contact) (to|with) (the )?(spark )?(driver|cluster)|"
        # A driver still starting answers that it is not ready (the Databricks driver client's
        # DriverNotReadyException): the same command on a started driver runs.
        r"driver (is )?not ready( yet)?|drivernotreadyexception|"
        r"communicating with the spark driver|context .{0,20}(is )?(detached|unresponsive)|"
        r"driver (may be |is |was )?down|(cluster|driver|node) became (unreachable|unresponsive)|"
        r"driver (was |has been )?restarted|driver .{0,30}(unresponsive|was killed)|killed driver|"
        r"driver of the cluster( \([\w-]+\))? was restarted|"
        # An executor that cannot reach the driver with its heartbeats exits (Spark's Executor.scala at
        # 43b7ab9: "Exit as unable to send heartbeats to driver more than N times", exit code 56): the driver
        # was busy or away, and a rerun on a healthy driver passes (tests/data/corpus/README.md, tenth pass).
        r"(unable|failed|could not|cannot) (to )?send heartbeats? to (the )?driver|"
        r"heartbeats? to (the )?driver (failed|timed out)|"
        # PySpark's bridge to the driver's JVM finds the other end dead or gone (py4j/py4j's
        # py4j-python/src/py4j/clientserver.py at db1404d: an empty answer "happens when the other end is dead").
        r"answer from java side is empty|error occurred while trying to connect to the java server",
        unless=r"exit code:? ?137",
    ),
    S(
        "cluster-terminated",
        "ClusterUnexpectedTermination",
        r"cloud[ _]provider[ _]shutdown|spot[ _]instance[ _]termination|communication[ _]lost|nodes?[ _]lost|"
        r"spot (vm|instance)s?( running)? (was |were |got )?(lost|preempted|evicted|reclaimed|terminated)|"
        r"cluster (was |has been )?terminated (unexpectedly|during|while|in the middle)|"
        r"terminated unexpectedly|cluster is in terminated state|(instance|node|vm)s? (was |were )?"
        r"(lost|preempted|evicted|reclaimed|retired|decommissioned)|lost (the )?(worker|node|instance)|"
        # YARN's diagnostics for a container whose node manager was lost ("Container released on a *lost* node").
        r"released on a \*?lost\*? node|"
        # Low-priority capacity taken back under a task (Azure Batch, as ADF's Custom activity reports it).
        r"(task|job)s? (was |were |got )?preempted|"
        r"instance (was )?terminated by the cloud|lost (at least )?(one|a|some|\d+) (worker )?nodes?|"
        r"spot termination|cluster to be terminated|forced .{0,40}terminat|lost executor|"
        r"executor\w* (\(id: \d+\) )?(is |was )?dead|executordeadexception|pod .{0,60}(deleted or lost|evicted)|"
        # A shuffle fetch fails when the executor holding the blocks is gone: a cluster downsized, a spot
        # instance reclaimed, an executor lost (kb.databricks.com, FetchFailedException).
        r"fetchfailed|shuffle (fetch|block)|(missing|lost) an output location for shuffle|chunkfetchfailure|"
        # Spark's transport layer when the peer's channel goes inactive (network-common TransportResponseHandler:
        # "Connection from <address> closed"): the executor or shuffle service at that address went away.
        r"connection from \S+ closed",
    ),
    S(
        "library-install",
        "DatabricksLibraryInstallationError",
        r"library (installation|install|resolution) (failed|error|attempted)|managedlibraryinstallfailed|"
        r"library_installation_(error|failure)|failed to install (the )?librar|(pip|maven|cran) .{0,40}"
        r"(install|download) (failed|error)|download failed|could not fetch url|error: could not install packages|"
        r"library (installation|install) timed out|(installing|install) (the )?librar(y|ies)",
        service="databricks",
    ),
    # A process or executor killed for its memory (exit code 137, SIGKILL), an executor lost or silent: on Databricks
    # the scale-up playbook's class; in an ADF activity a plain rerun meets the same memory, so it stays a Databricks
    # class there, which ADF does not heal (autoheal/domain/catalog.toml).
    S(
        "memory-exhausted",
        "DatabricksResourceExhausted",
        # Kubernetes's words for the same kill ("terminated: reason=OOMKilled, exitCode=137"), as Spark on Kubernetes
        # and Kyuubi report a driver's or executor's container.
        r"exit ?code[:=]? ?137|oomkilled|executorlostfailure|executor (heartbeat|lost)",
    ),
    S(
        "resource-exhausted",
        "ThrottlingError",
        FRAME_LINE + r"\b429\b|too ?many ?requests|throttl|rate limit|request rate is large|too high a rate|"
        # Azure Storage's ServerBusy (503) in its own words: "Ingress is over the account limit", "Operations per
        # second is over the account limit" (the storage error tables); S3's SlowDown "Reduce your request rate".
        r"over the account limit|reduce your request rate|"
        # AWS's own words and the codes its SDK retries as throttling or transient (botocore 1.44.8,
        # botocore/retries/standard.py: _THROTTLED_ERROR_CODES, _TRANSIENT_ERROR_CODES): "Rate exceeded",
        # a prior request not complete, a shard's provisioned throughput, a transaction still in progress.
        r"\brate exceeded|priorrequestnotcomplete|provisionedthroughputexceeded|transactioninprogressexception|"
        r"token bucket|request_limit_exceeded|resource_exhausted|requestlimitexceeded|"
        r"(maximum|max) (number of )?(concurrent|active|queued|parallel) ([\w()]+ ){0,2}(runs|jobs|requests|"
        r"executions|queries|connections|sessions|compute|tasks|slots)|"
        # S3's SlowDown (503 "Please reduce your request rate"): a prefix's request rate, which passes.
        r"\bslow ?down\b|concurren(t|cy) (run |request )?limit|(run|job|request|queue) limit|"
        r"limit (has been |was )?(reached|exceeded)|(exceeded|exceeding|exceeds) .{0,40}limit|"
        r"(server|service|system|engine|backend) (is )?(currently |temporarily )?(too )?busy|serverbusy|high load|"
        r"under (heavy|high|excessive) load|"
        # A limit on how many run at once, written with its number ("its limit of 1000 concurrently running tasks").
        # Or the count itself: "exceeds the maximum concurrent count of 200" (a data flow's cluster requests).
        r"maximum concurrent (count|number|limit)|"
        r"limit of \d[\d,]* (concurrent(ly running)?|active|parallel|simultaneous) [\w ]{0,20}?"
        r"(runs|tasks|jobs|requests|queries|sessions|connections)\b|"
        r"too many [\w ]{0,30}(operations|requests) in progress|stockout|insufficient (\w+ )?(capacity|instances)|"
        # Livy's refusal while others start ("Rejected, too many sessions are being created!"), HDInsight's and
        # Synapse's Spark activities in ADF.
        r"too many sessions are being created|"
        r"(do not|don't|does not|did not) have (sufficient|enough) ([\w.-]+ )?capacity|not enough capacity|"
        # Azure SQL's 49918 "Cannot process request. Not enough resources to process request." (its
        # transient-errors list in knowledge/sql_server_errors.toml; the words where the number is not quoted).
        r"not enough resources to process (the |this |your )?request|" + CONTENTION + "|"
        # An execution-context or attached-notebook limit frees up as notebooks detach (KB: maximum execution
        # context); a component that cannot take more work right now is saturated, not misconfigured.
        r"(maximum|max) number of (execution )?contexts|attached notebook limit|"
        r"(queue|pool)[\w. ]{0,40} (is full|already has \d+)|"
        r"(can ?not|can't|unable to) accept (new|more|any) (tasks?|requests?|connections?|jobs?|work)|"
        r"capacity (is )?(not )?(available|constrained|exhausted)|could not be acquired|"
        # A quota on what is in use at once (connections, sessions, concurrent runs) frees as others finish.
        r"(connections?|sessions?|concurren\w*|requests?|rate|active [\w ]{0,20}) ?quota|"
        r"quota .{0,40}(connections|concurrent|per (second|minute))|"
        # A Spark pool request that does not fit now (classifier.py's _VCORES vetoes one that never fits).
        r"requested \d+ v?cores|"
        r"workspace_run_limit_exceeded|max_concurrent_runs|queue size|too many (execution )?contexts|"
        r"ssh protocol identification|commit retries|concurrent(append|deleteread|deletedelete|transaction)exception|"
        r"concurrentmodificationexception|metadatachangedexception|protocolchangedexception",
        databricks="DatabricksResourceExhausted",
    ),
    S(
        # A quota and nothing more: of what is in use at once (it frees), or of what exists, grows or is
        # granted (it does not: an account's cores, a factory's count of pipelines). The words cannot tell;
        # numbers can: classifier.py heals one whose request fits the limit once others free up.
        "quota",
        "ThrottlingError",
        r"(?<![a-z])quota(?!tion)",
        databricks="DatabricksResourceExhausted",
        weak=True,
    ),
    S(
        # Delta's optimistic concurrency: another writer committed first; the documentation says to try the
        # operation again (delta-error-classes.json). Contention that frees up (corpus label rule).
        "write-conflict",
        "DatabricksResourceExhausted",
        r"transaction conflict|conflicting commit|concurrent (transaction|write|update|operation|merge|delete|commit)|"
        r"(running|modified) concurrently|concurrently with",
        service="databricks",
    ),
    S(
        "cluster-start",
        "DatabricksClusterStartFailure",
        r"(failed|not able|unable|could not) to (start|launch)|launch[ _]failure|failed to be healthy|"
        # A cluster's bootstrap that failed, not the word in a path (/Volumes/platform/bootstrap/x.sh) or a Kafka
        # client's bootstrap.servers ("No resolvable bootstrap urls given").
        r"component[ _]unhealthy|bootstrap[ _]?(timeout|timed out|failure|failed)|"
        r"clusters/start is temporarily unavailable|could not launch|"
        r"unexpected state (pending|restarting|resizing)|not able to transition|"
        r"error starting (terminated )?cluster|(spark )?startup failure|failed during startup|"
        r"(could not|cannot|can't|unable to) be (started|launched)|"
        r"waiting for cluster|cluster .{0,40}(pending|starting) (for|too long)|"
        # A wait that ran out on something still coming up, in the tools' words: the Terraform provider's
        # "<cluster> is PENDING, but has to be RUNNING" (a RetryableError while it can still get there), a
        # database instance "not ready for accepting connections (state: STARTING)".
        r"is (pending|starting|provisioning|resizing|restarting), but (has|needs|must) to be running|"
        r"not ready (yet )?(for|to) accept(ing)? (connections|requests)|"
        r"\(state:? ?(starting|pending|provisioning|resizing|restarting)\)",
        service="databricks",
    ),
    # A SQL session the server no longer holds: the Thrift server expired it (idle timeout, warehouse
    # restart) and rejects the handle. Opening a new session and running again succeeds, as the
    # connector's maintainers advise (databricks/databricks-sql-python#400); not a login: a token or
    # credential problem is its own never sign.
    S(
        "session-expired",
        "GatewayTimeout",
        r"invalid session ?handle|session ?handle\b.{0,80}(not been initialized|already closed|expired|"
        r"no longer valid)",
        databricks="DatabricksTimeoutError",
    ),
    S(
        "no-answer",
        "GatewayTimeout",
        # A timeout written as a setting (a URL's "&timeout=90", "connectTimeout=30") is a value, not an event.
        FRAME_LINE + r"\b504\b|gateway[ -]time-?out|timed ?out|times? ?-?out(?!=\d)|timeout(?!=\d)|timing out|"
        r"task was cancell?ed|"
        r"deadline[ _]exceeded|"
        r"did not (respond|answer|reply|return)|no response (was )?(received|from)|(is |was )?not responding|"
        r"failed to respond|stopped responding|unresponsive|took too long|too long to respond|"
        r"waiting for (a )?response|response (was )?not received|operation has timed out|expired before|"
        r"\btimedout\b|\bhung\b|hang(s|ing)? (on|while|waiting)|"
        # Azure Storage's words for a step that ran out of its time (its error tables: OperationTimedOut "could
        # not be completed within the permitted time", CannotVerifyCopySource, ClientCacheFlushDelay).
        r"(within|in) the (specified|allotted|permitted|allowed) time|"
        # A resource still being made when the wait for it ended (not a run or a job: a waiter that gives up on
        # a run still going is the still-running veto, autoheal/domain/rules.py).
        r"\b(index|instance|endpoint|warehouse|pool|database|cluster|workspace)\b( \S+){0,6} is still "
        r"(pending|provisioning|starting|initiali[sz]ing|being (created|provisioned))|"
        # The same wait running out in other words: nothing came back in the allowed time, or the client's
        # own retries ran out of time.
        r"(could not|did not|was not|cannot|can't) (be )?complete[d]? (with)?in (the )?(specified|allotted|configured|"
        r"given|expected|allowed|permitted)? ?(time|period|duration)|took longer than|no (response|reply) within|"
        r"(did not|didn't|never|failed to|could not|couldn't|unable to) (receive|get) "
        r"(a |any |the )?(response|reply|answer)|"
        r"empty reply from server|"
        r"(exceed|exceeded|exhausted) .{0,40}retry (policy|duration)|max(imum)? retry duration|"
        # The Cosmos DB .NET SDK ends a request whose cancellation token expired (its request-timeout
        # troubleshooting page: the end-to-end timeout ran out; safe to retry).
        r"cancellation token has expired",
        databricks="DatabricksTimeoutError",
    ),
    S(
        "runtime-offline",
        "HttpConnectionFailed",
        r"integr?ation ?runtime .{0,80}(is )?(offline|unavailable|not reachable|cannot be reached)|"
        r"(self-hosted|shir) .{0,60}(is )?offline",
        service="adf",
    ),
    S(
        "connection-dropped",
        "HttpConnectionFailed",
        r"connection (was |is |has been )?(unexpectedly |abruptly )?"
        r"(closed|reset|refused|aborted|lost|dropped|terminated|interrupted)|"
        r"forcibly closed|no connection could be made|transport-level error|econnreset|econnrefused|"
        # Microsoft's ODBC driver and SqlClient when their connection resiliency gives up on one connection (IMC06
        # "The connection is broken and recovery is not possible"): the next run opens another.
        r"the connection is broken and recovery is not possible|"
        r"broken pipe|socket (closed|exception|hang up)|socketexception|remote (host|server|end|party) "
        r"(closed|dropped|hung up|reset|terminated)|network (is )?(unreachable|error|issue|glitch|blip)|"
        r"an error occurred while sending the request|unexpected eof|response ended prematurely|"
        r"failed to establish a new connection|max retries exceeded with url|underlying connection was closed|"
        r"connectionerror|connectionreseterror|read error|i/o error on|service bus|temporary failure in name|"
        # The same failure by its code, as Node prints it ("getaddrinfo EAI_AGAIN host"): getaddrinfo(3), "the name
        # server returned a temporary failure indication. Try again later."
        r"\beai_again\b|"
        r"network instab|networkinstable|network (is )?unstable|intermittent (network|connectivity)|"
        r"connection broken|incompleteread|abort(ing|ed)? (the )?connection|"
        # ODBC's SQLSTATE 08S01, "Communication link failure": the connection to the data source failed
        # before the function completed (ODBC Programmer's Reference, Appendix A: ODBC Error Codes).
        r"communications? link failure|"
        # A peer that went away mid-request, in the words of the database and broker clients: Kafka's
        # NetworkException ("The server disconnected before a response was received"), Oracle's ORA-03113
        # "end-of-file on communication channel", ORA-03135 "connection lost contact", ORA-01012 "not logged on"
        # (the session the call expected is gone; a new connection logs on again).
        # httpcore's RemoteProtocolError "Server disconnected without sending a response.", aiohttp's
        # ClientPayloadError "Response payload is not completed" (the body cut short), librdkafka's
        # "Local: Broker transport failure", okhttp's "unexpected end of stream on <url>" with okio's cause beneath
        # it (EOFException "\\n not found: limit=0 content=...": the status line never came).
        r"disconnected (before|without sending) (a |the )?(response|reply)|end-of-file on communication channel|"
        r"response payload is not completed|broker transport failure|unexpected end of stream|not found: limit=\d|"
        # A replica set or ring between primaries or short of live replicas: MongoDB's NotWritablePrimary (10107,
        # retryable by its drivers), Cassandra's UnavailableException ("Not enough replicas available for query at
        # consistency LOCAL_QUORUM"), Db2's SQL1224N (an agent ended by a shutdown or a force).
        r"notwritableprimary|notprimarynosecondaryok|not enough replicas available for query|"
        r"cannot achieve consistency level|sql1224n|"
        # Apache httpd's mod_proxy page: "Proxy Error ... Reason: Error reading from remote server".
        r"error reading from remote server|"
        # ODBC's SQLSTATE 08S01 itself, as drivers print it ("[08S01] [Microsoft][ODBC Driver 18 for SQL
        # Server]TCP Provider: Error code 0x68"): Communication link failure (ODBC Appendix A).
        r"\b08s01\b|"
        # Db2's SQL30081N, "A communication error has been detected" (SQLCODE -30081), as ADF's DB2 connector quotes it.
        r"sql30081n|sql ?code:? '?-30081\b|a communication error has been detected|"
        r"connection lost contact|\bnot logged on\b|"
        # The same, with what the connection went to named between ("Connection to the SQL warehouse was lost").
        r"connection to (the )?[\w .:/-]{1,40}? (was |has been )?(lost|dropped|interrupted|reset|closed unexpectedly)|"
        # HTTP/2's REFUSED_STREAM: the server did not process the stream, and RFC 9113 (8.7) says the request
        # can be retried safely.
        r"refused_stream|refused stream|"
        # libpq's and MySQL's clients when the server went away mid-query.
        r"server closed the connection unexpectedly|lost connection to (\w+ )?server (during|at)|"
        # MySQL's CR_SERVER_GONE_ERROR 2006 "MySQL server has gone away" (its reference manual: most often the
        # server timed out and closed the connection, or was restarted); libpq's "SSL SYSCALL error: EOF
        # detected", the TLS connection closed under it.
        r"server has gone away|ssl syscall error|"
        # A connection the service closed for being idle (AMQP amqp:connection:forced, "inactive for more than
        # the allowed ... milliseconds"): the next call opens a new one (Service Bus and Event Hubs exceptions).
        r"amqp:connection:forced|connection was inactive for more than|network request (has )?failed|"
        # Envoy's local reply when the upstream failed or reset before answering (the 503 body behind a proxy or
        # service mesh, with "reset reason: connection termination"), and its 503 when no upstream host passes its
        # health checks (tests/unit/test_classifier_bodies.py).
        r"upstream connect error or disconnect/reset before headers|no healthy upstream|connection termination",
    ),
    S(
        "server-error",
        "InternalServerError",
        FRAME_LINE + r"\b(500|502|503|507)\b|internal (server )?error|internal_error|service ?unavailable|"
        # A condition that says a retry fixes it (Auto Loader's UNKNOWN_FIELD_EXCEPTION: "... which can be fixed by
        # an automatic retry: true": the restarted stream reads the evolved schema).
        r"can be fixed by an automatic retry: true|"
        # Cloudflare's origin errors as a client reports the status (its 5xx pages: 520 unknown, 521 web server
        # down, 522 connection timed out, 524 a timeout occurred); 523 and 525/526 name an address or a certificate.
        r"status code:? '?(520|521|522|524)\b|"
        # S3's ServiceUnavailable (503): "Service is unable to handle request." Azure SQL's transient faults in
        # their words (its troubleshooting page: 615 "Could not find database ID", 4221 "Login to read-secondary
        # failed due to long wait on 'HADR_DATABASE_WAIT_FOR_TRANSITION_TO_VERSIONING'").
        r"unable to handle (the |this )?request|could not find database id|failed due to (a )?long wait|"
        # SQL Server's 18401 in its words: the upgrade scripts after an update still run (sql_server_errors.toml).
        r"server is in script upgrade mode|"
        # Cosmos DB's 410 while a partition splits ("Partition key range is finishing split and is not available for
        # reads/writes", substatus 1007 CompletingSplit): its status-code page has the client retry.
        r"(is finishing|completing) split\b|"
        # BigQuery's backendError in its own words ("The job encountered an error during execution. Retrying the job
        # may solve the problem."), PostgreSQL's 57P02 while it restarts after another backend crashed.
        r"retrying the job may solve the problem|terminating connection because of crash of another server process|"
        r"temporarily[ _]unavailable|try again( later)?|retry (later|the operation|your (job|request))|"
        # The service's own instruction to send the same thing again, unchanged: "Retry the request after 10
        # seconds", "Rerun the transaction" (SQL Server's deadlock victim, 1205), "Rerun your statement when
        # there are fewer active users" (1204). An instruction to change something first abstains
        # (autoheal/domain/instructions.py).
        r"\b(retry|rerun|re-run|resubmit|reissue) (the|your|this) (request|operation|transaction|statement|query|"
        r"command|call)s?\b|"
        r"please retry|transient|bad ?gateway|"
        # The text's own word that the fault passes: conda's CondaHTTPError, "HTTP errors are often intermittent,
        # and a simple retry will get you on your way" (conda/exceptions.py).
        r"(errors?|failures?|issues?) (are|is) (often |usually |likely )?(intermittent|temporary)|"
        r"a (simple )?retry (will|should|may|might) (help|fix|resolve|succeed|get you)|"
        r"unexpected (error|failure) (occurred|during|while)|"
        r"request_rejected|cannot handle the request at this moment|not fully initialized|hiccup|"
        r"unexpected error (was |has been )?(encountered|occurred)|(is|are) experiencing (issues|problems|an outage|"
        r"difficulties)|"
        # HTTP 503 in the words of its definition (RFC 9110 15.6.4: "currently unable to handle the request due
        # to a temporary overload or scheduled maintenance"), as IIS and Azure front ends write it; gRPC's
        # UNAVAILABLE, which its status-code guide calls "most likely a transient condition, which can be
        # corrected by retrying with a backoff".
        r"unable to handle the request|temporar(y|ily) overload|statuscode\.unavailable|"
        # A service in maintenance or failing over answers again afterwards (RFC 9110's "scheduled maintenance";
        # Azure SQL's 40613 "Database ... is not currently available", failover in the transient-errors list).
        r"(undergoing|under|during|due to) (scheduled |planned )?maintenance|maintenance (is )?in progress|"
        r"(is |being |currently being )failed over|failover (is )?in progress|failing over|try later|"
        # FTP's 421 (RFC 959): "Service not available, closing control connection".
        r"service not available|"
        r"nullpointerreference|(no|not) \w+ (are |is )?available to (handle|serve|process) (your|the|this) request|"
        r"try (the operation|the request|it) again|concurrent (update|modification)|"
        r"(during|while) (provisioning|being (created|updated|provisioned))|"
        r"another (conflicting )?operation is (currently )?in progress|"
        # A control plane whose worker environment or cluster record is not ready yet: the Databricks SDKs
        # retry these (databricks-sdk-go apierr transientErrorStringMatches; 'worker env ... not found' added
        # in v0.39.0, CHANGELOG.md@1ff3c78). Left out: "does not have any associated worker environments",
        # which a serverless-only workspace answers for good (no classic compute plane to wait for).
        r"unknownworkerenvironmentexception|no worker environment with id|unknown worker environment|"
        r"worker ?env\w* .{0,60}not found|clusternotreadyexception|"
        # The service moved the query's compute while it ran: Synapse's serverless SQL pool calls a topology
        # change transient, "Retry the query" (resources-self-help-sql-on-demand.md).
        r"(because of|due to) a topology change|"
        # A partition between leaders or short of replicas while a broker restarts (Kafka's
        # LeaderNotAvailableException, NotEnoughReplicasException): the election ends, the replicas catch up.
        r"in the middle of a leader(ship)? election|(fewer|not enough) in-sync replicas|"
        # The rest of Kafka's retriable protocol errors in their own words (kafka.apache.org/protocol, Errors.java;
        # tests/data/catalogues/kafka_errors.jsonl): a coordinator or controller loading, moved or not there
        # yet, a leader or replica not available, a leader epoch behind or ahead, a high watermark catching up.
        r"coordinator (is loading|load in progress|is not available)|"
        r"not the (correct|current) (coordinator|controller|leader)|"
        r"(preferred |eligible (topic partition )?)?(leader|replica)s? (is |are |was |were )?not available|"
        r"leader epoch in the request is (older|newer)|high watermark has not caught up|"
        # The SQL standard's transaction rollback class (40001 "serialization failure", ODBC and PostgreSQL) and
        # a database shut down under the session (PostgreSQL 57P01 admin_shutdown, 57P02 crash_shutdown).
        r"\bserialization failure\b|\b(admin|crash) shutdown\b|"
        # A database starting, stopping or failing over (PostgreSQL's 57P01/57P03 "terminating connection due
        # to administrator command", "the database system is starting up"; Oracle's ORA-01033 "initialization
        # or shutdown in progress", ORA-01089 "immediate shutdown or close in progress"; SQL Server's 6005
        # "SHUTDOWN is in progress."; a listener with no
        # free handler, ORA-12516/12519): it answers again once it is up.
        r"terminating connection due to administrator command|"
        r"the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|"
        r"initialization or shutdown in progress|shutdown (is |or close )?in progress|"
        r"listener could not find (an )?available (handler|instance)",
        # "Ensure the value is well formed and try again" asks a person to fix the input first: the words
        # of a retry, not of a transient fault (Spark CANNOT_DECODE_URL, CANNOT_PARSE_INTERVAL).
        # The instruction is a verb a person is told to do (at a sentence's start, or after please, and, then,
        # to, must, should, can): "due to an ongoing platform update. Please try again later" is no instruction.
        unless=r"(^|[.,;:!?(]\s*|\b(please|and|then|to|must|should|can|need to|you) )"
        r"(ensure|make sure|double[- ]check|correct|fix|check|verify|provide|providing|specify|update|change|"
        r"consider)\b[^.]{0,200}[.,;]? *(and |then |please )?(try again|retry)",
    ),
    S(
        "connection-failed",
        "HttpConnectionFailed",
        r"(cannot|can not|could not|unable to|failed to) (connect|reach|open (a )?connection)|not reached|"
        r"connection (failed|error|failure)",
        weak=True,
    ),
)
