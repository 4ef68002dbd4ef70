"""The classifier's signs, as data: the wording of each class of failure, apart from the codes
(autoheal/domain/knowledge/ holds those, with their sources).

Two lists, searched in the lower-cased text of the error (its code, message and termination
details):

1. ``NEVER_SIGNS``: evidence of a cause a retry cannot fix (credentials, certificate trust, a
   permission, a policy, an exception from user code, a missing object, schema, data,
   configuration). Found anywhere in the message, one vetoes healing, whatever the outer wrapper
   says: "connection failed ... login failed for user" is a login failure.
2. ``TRANSIENT_SIGNS`` (autoheal/domain/transient.py): the wording of the transient classes, most
   specific first. The first that matches names the class; a ``weak`` sign (wording that also fits a
   configuration fault, such as "failed to connect") gives a confidence below the one at which
   autoheal acts alone.

The words are the services' own, as their troubleshooting guides and error catalogues write them,
not lines of any corpus. A class name inside free text is never read as a code: codes come only
from error-code fields and from the forms the services write them in (ErrorCode=..., UPPER_SNAKE
termination codes, Spark error classes), and only codes the tables document count.
"""

from __future__ import annotations

from autoheal.domain.access import ACCESS_SIGNS
from autoheal.domain.ceilings import CEILINGS
from autoheal.domain.records import RECORD_SIGNS
from autoheal.domain.signs import S, Sign

# The things a workspace or factory stores, whose count limits never free by waiting ("The maximum number of
# jobs (12000) has been reached"), and the words of a limit on how many run at once, which does free.
_STORED = (
    r"(jobs|clusters|pipelines|workspaces|notebooks|repos|tokens|secrets|secret scopes|instance pools|tables|"
    r"schemas|catalogs|experiments|models|triggers|datasets|activities|factories)"
)
_AT_ONCE = r"concurrent|active|queued|parallel|running|simultaneous"
_NOT_AT_ONCE = rf"(?!{_AT_ONCE})"
# What exists only while in use: a limit on how many frees as other clients let go (TRANSIENT_SIGNS), so the
# count-limit veto below does not take it.
IN_USE = r"(processes|sessions|connections|threads|waiters)"

# ---- 1. causes a retry cannot fix ----------------------------------------------------------------
NEVER_SIGNS: tuple[Sign, ...] = (
    *ACCESS_SIGNS,
    S(
        "quota-never-fits",
        # The class stays; remediable is what the veto takes away. On ADF a quota is ThrottlingError, in
        # Databricks DatabricksResourceExhausted (the corpus label rules, tests/data/corpus/README.md).
        "ThrottlingError",
        r"exceeds? the (maximum|approved) (allowed )?(quota|limit)|quota .{0,40}(can ?not|will never|never) (be )?|"
        r"quota for the number of|"
        # A rate limit whose window is a day or a month: the server asks to wait hours ("Retry-After: 51873", "Retry
        # in 62314 seconds"; five digits is more than the longest wait the catalog gives a retry,
        # autoheal/domain/catalog.toml), or says the window's allowance is spent ("X-RateLimit-Remaining-Month: 0").
        r"retry-after:? ?\d{5,}\b|retry in \d{5,} seconds|x-rate-?limit-remaining-(day|month): ?0\b|"
        # A limit on how many things exist ("The maximum number of jobs (12000) has been reached", "You have
        # reached the maximum number of personal access tokens"); not how many run at once.
        rf"maximum number of {_NOT_AT_ONCE}([\w ]{{0,20}})?{_STORED}( \(\d[\d,]*\))?"
        r"( per [\w ]{1,20})?( \(\d[\d,]*\))? (has been |was )?(reached|exceeded)|"
        rf"(reached|exceeded) the (maximum|max) number of {_NOT_AT_ONCE}[\w ]{{0,20}}{_STORED}\b|"
        # A limit on how many things a definition may hold (jobs, template actions, activities) is a
        # design limit; one on how many run at once, or on what exists only while in use, frees up.
        # Nor a count of calls in a window (a rate: "The number of calls exceeded the limit of 12000 in 5 minutes"),
        # nor of attempts: retries spent ("The maximum number of retries has been exceeded") wrap a
        # cause, which decides.
        rf"(number|count) of (?!{_AT_ONCE}|requests|calls|operations|reads|writes|{IN_USE}|retries|attempts|tries)"
        r"[\w ]{1,40}(has )?(exceeded|exceeds|reached)|cannot (have|create) more than \d+|"
        # What the request itself would take goes over the quota, or storage is full: a person frees or raises it.
        r"would exceed the (allowed |maximum |approved )?[\w ]{0,40}quota|"
        # What is stored outgrew its allowance ("The total size of entities in a premium namespace exceeds the
        # limit of 1 TB per messaging unit", Service Bus's StorageQuotaExceededException): it stays full.
        r"total size of [\w ]{1,40} exceeds the limit|storagequotaexceeded|"
        # PostgreSQL's 2200H sequence_generator_limit_exceeded and 53400 configuration_limit_exceeded: a sequence
        # at its maximum, a server setting's limit: a person raises them.
        r"sequence generator limit|configuration limit exceeded|"
        r"reached its (storage|size|database count) (limit|quota)|storage limit (of [\w ]{1,40})?has been reached|"
        # A quota that resets only with the calendar: a daily or monthly allowance stops the app until the
        # next period ("The Function App has reached daily usage quota and has been stopped until the next 24
        # hours time frame", azure-docs functions-recover-storage-account). No retry inside a run frees it; a
        # per-second or per-hour rate limit (TRANSIENT_SIGNS) does free.
        r"(daily|monthly) (usage |execution |request |api )?(quota|limit)|until the next (24 hours|day|month)|"
        # Money, not load: a subscription's spending or credit limit, a budget, stays reached until a person
        # raises it or the billing period turns.
        r"(spending|credit|budget|cost) limit|(exceed\w*|reached|over) (its |the |your )?(spending|credit|budget)\b",
        unless=r"additional required",
        databricks="DatabricksResourceExhausted",
    ),
    S(
        "user-code",
        "CodeError",
        r"\b(nameerror|attributeerror|typeerror|keyerror|indexerror|zerodivisionerror|syntaxerror|"
        r"indentationerror|unboundlocalerror|notimplementederror|assertionerror|valueerror|recursionerror|"
        r"classcastexception|numberformatexception|arithmeticexception|illegalargumentexception|"
        r"illegalstateexception|nosuchelementexception|arrayindexoutofboundsexception|matcherror|"
        r"analysisexception|parseexception|noclassdeffounderror|unsupportedoperationexception)\b"
        # Not a JVM exception built around another (Throwable(cause) takes the cause's toString() as its message:
        # "IllegalStateException: com.microsoft.azure.documentdb.DocumentClientException: ..."): a connector's
        # wrapper, whose cause decides.
        r"(?!: ?(?:[a-z_][\w$]*\.)+[a-z_][\w$]*(?:exception|error)\b)|"
        # Kusto's per-query memory budget (E_RUNAWAY_QUERY, the same page): the query's own shape exceeds it.
        r"e_runaway_query|"
        r"azure function .{0,120}status-'?badgateway|230-second|"
        r"(user|azure) function .{0,80}(threw|raised|returned|failed with status[- ]'?(internalservererror|500))|"
        r"function .{0,60}(threw|raised) an exception|exception (was )?(thrown|raised) (by|in) (the )?(user|function)|"
        # The function's own exception, wrapped in the 500 the calling activity reports (.NET host wording).
        r"exception while executing function|nullreferenceexception|object reference not set to an instance|"
        # Spark's words for the exception of a streaming query's own function (FOREACH_BATCH_USER_FUNCTION_ERROR,
        # SQLSTATE 39000: tests/data/spark/error-conditions.json.gz).
        r"error occurred in the user provided function|"
        r"notebook (exited|failed) with|cannot resolve|is not defined|mismatched input|syntax error|"
        r"sql compilation error: .{0,80}invalid identifier|incorrect syntax near|"
        r"satisfies the requirement (install|pip|-u|--upgrade)\b|the pipeline failed because .{0,40}expression",
        unless=r"connectionerror|timeouterror|connectionreseterror|socket\.timeout|readtimeout",
    ),
    *RECORD_SIGNS,
    S(
        "missing-object",
        "InvalidConfiguration",
        # Not finding a free one of something is load, not a missing object ("listener could not find available
        # handler", Oracle's ORA-12516).
        r"(does not|doesn't|did not) exist|"
        # Nor maven-dependency-plugin's wrapper "Unable to find/resolve artifact.", whose cause follows it.
        r"(can ?not|could not|unable to) (be )?(find|found|locate)(?! (an )?available|/resolve)|"
        r"(notebook|file|path|folder|directory|resource|container|database|table|entity|linked ?service|"
        r"dataset|pipeline|cluster|job|secret|scope|module|package|dependency|class|jar|artifact|"
        r"workspace|instance pool|account|library|object|key)[\w'\"`:/\-. ]{0,60} (was |is )?not found|"
        # Not okio's end of a cut stream ("java.io.EOFException: \\n not found: limit=0 content=...").
        r"not found:(?! limit=)|no such (file|directory|table|object|bucket|key)|resource_not_found|does_not_exist|"
        r"invalid object name|"
        # A notebook parameter the run did not pass (dbutils' InputWidgetNotDefined "No input widget named x is
        # defined").
        r"no input widget named|inputwidgetnotdefined|"
        r"filenotfound|notfoundexception|nosuchfile|missingtableexception|required table missing|"
        r"credential .{0,60}(is )?(deleted|missing)|"
        r"no matching distribution|unresolved dependency|notfound\b|could not be found|deleted or unpinned|"
        # Kafka's producer waited max.block.ms for the topic in the cluster's metadata (KafkaProducer.waitOnMetadata):
        # a topic that exists on a cluster the client reaches is there in milliseconds.
        r"topic \S+ not present in metadata|"
        r"partition \d+ of topic \S+ with partition count \d+ is not present in metadata|"
        r"terminated or unpinned|has been deleted|no longer exists|(isn't|wasn't) found\b|"
        # On its way out: a workspace, account or resource being deleted is not coming back for a retry.
        r"pending deletion|is being deleted|scheduled for deletion|"
        # Data objects a session cannot reach ("The query references an object 'dbo.vw' that is not accessible").
        r"(object|table|view|database|schema|file|folder|directory|path|container|catalog|volume)\b"
        r"( ['\"][^'\"]{1,100}['\"])?[^.]{0,40}(is|was|are) not accessible\b(?! from)",
        # Azure SQL's 615 "Could not find database ID %d, name '%.*ls'" is a database moving during a
        # reconfiguration: its troubleshooting page lists it among the transient faults.
        unless=r"could not find database id|required blob is missing|specified blob does not exist|"
        r"blob .{0,80}does not exist|"
        r"usererrorsourceblobnotexist|containerexist: true|retrying \(retry\(|newconnectionerror|readtimeouterror|"
        # Ivy's unresolved dependency whose download broke off ("download failed: ...jar:
        # java.net.SocketTimeoutException: Read timed out"): the coordinates resolved, the repository did not answer.
        r"download failed: [^\n]{0,300}(timed out|timeoutexception|connection reset)",
    ),
    S(
        "configuration",
        "InvalidConfiguration",
        r"invalid (configuration|parameter|argument|value|setting|url|connection string|spark version|"
        # Not Spark Connect's INVALID_HANDLE and INVALID_CURSOR templates ("The handle <uuid> is invalid.", "The
        # cursor is invalid."): their sub-conditions say why (knowledge/spark_errors.toml); nor ADF's 206 "The batch
        # ID for Spark job is invalid. Please retry your job.", an internal fault by its guide
        # (knowledge/adf_error_codes.toml).
        r"instance type|node type|request)|misconfigur|(?<!handle [0-9a-f-]{36} )(?<!cursor )(?<!spark job )"
        r"(?<!lock supplied )"
        r"is (not |in)valid|"
        r"not supported|unsupported|"
        # A capability the target lacks: an account feature, a protocol, a format ("This endpoint does not
        # support BlobStorageEvents or SoftDelete"); a retry meets the same target.
        r"(endpoint|account|server|service|cluster|runtime|driver|connector|version|format|mode) "
        r"(does not|doesn't) support|"
        r"not a valid|must be (a |an |specified|set|provided)|evaluation of .{0,80} expression|"
        # An ADF expression left as text in a path or value ("BlobPrefix: daily/@{formatDateTime(...)"): the
        # field was not marked dynamic content, so the service used the expression's own characters.
        r"@\{[a-z]\w*\(|"
        r"could not parse|failed to parse|expected .{0,40} to be set|out ?of ?memory|outofmemory|"
        r"java heap space|gc overhead limit|container (does not|doesn't) exist|containerexist: false|"
        # A name the installed version of a module does not have (Python's ImportError "cannot import name"):
        # a library version mismatch, met again by every run on the same environment.
        r"cannot import name|(cluster|broker) security setup|"
        # A feature used without the setting it needs (Spark's MISSING_TIMEOUT_CONFIGURATION "The operation has
        # timed out, but no timeout duration is configured"; "Cannot set timeout duration without enabling
        # processing time timeout"): its words may say "timed out", the fix is a setting.
        # Not Reactor's timeout operator ("Did not observe any item or terminal signal within 60000ms in 'flatMap' (and
        # no fallback has been configured)", the Azure SDKs for Java): a wait that ran out, which the words decide.
        r"\bno (?!fallback )[\w ]{1,30} (is|was|has been) (configured|specified)\b|without enabling\b|"
        # An app someone stopped stays stopped ("the Azure Function app 'fn-etl' is stopped"): a person starts it.
        r"\b(function app|web app|logic app|app|application|site|workflow)\b['\"\w -]{0,40} "
        r"(is|was|has been) stopped\b|"
        r"trial (subscription )?(has )?expired|subscription .{0,40}(disabled|expired|suspended)|"
        r"feature (is )?(disabled|not enabled)|not enabled for (this|your) workspace|"
        r"jre not found|java runtime environment (is )?not found|already exists|broadcast ?(join )?time ?-?out|"
        # The same broadcast timing out in Spark's own trace (spark.sql.broadcastTimeout, BroadcastExchangeExec), and a
        # shuffle block past Netty's 2 GB frame ("Adjusted frame length exceeds 2147483647"): the data's size.
        r"broadcastexchangeexec|frame length exceeds 2147483647|"
        r"(?<!queue )size (quota|limit)|size ?limit ?exceeded|too large|"
        r"exceed(s|ed)? the maximum (allowed [\w ]{0,20})?(size|length)|"
        # A limit written as a size (bytes, KB ... PB, rows, characters) bounds what one request carries or one
        # thing holds ("Message size exceeds the limit of 256 KB"); a rate is written per second ("20 Gbps").
        r"limit (of )?\d[\d.,]* ?([kmgtp]i?b|bytes?|characters|chars|rows|columns|elements|items|entries)\b"
        r"(?! ?(/|per\b|ps\b))|"
        r"\d[\d.,]* ?([kmgtp]i?b|bytes) (size )?limit\b|\bsize exceed(s|ed)? (the |its )?(\w+ )?limit\b|"
        r"missingsubscriptionregistration|subscription registration|not registered to use namespace|"
        r"(is )?not allowed (in|for)|not assigned|type initializer .{0,80}threw|"
        # A property or parameter named as wrong: its name is no evidence ("the property 'timeout' is incorrect").
        r"(type|value|format) of (the )?(property|parameter|argument)\b.{0,80}\b(is )?(incorrect|invalid|wrong)|"
        r"value for the required (property|parameter)|\bis incorrect\b|"
        # A thing stated to be wrong ("the region 'vpce' is wrong", "the access token is from the wrong tenant", "points
        # to the wrong port"); not "something went wrong", which is how a service reports its own fault.
        r"\b(is|are|was|were) wrong\b|\b(has|have|had|uses?|using|from|to|for) (the |a )?wrong\b|"
        # A missing file the activity runs (a script, a jar) is its configuration; a missing data file may
        # still arrive (blob-missing, TRANSIENT_SIGNS). The ADF guide's 2345: the script file doesn't exist.
        r"\b(script|jar|executable|wheel|whl|egg)\b.{0,80}(does not exist|not found|cannot be found|could not be found|"
        r"is missing)|"
        # The runtime cannot load a component it was configured with: a missing driver or assembly.
        r"could not load (file or )?assembly|(provider|driver) .{0,40}is not registered|"
        r"data source name not found|no default driver specified|(make sure|ensure) it is on the classpath|"
        # Streaming state that only a person can reconcile: two queries on one checkpoint, a checkpoint
        # to delete (Spark error conditions CONCURRENT_STREAM_LOG_UPDATE, CONCURRENT_QUERY).
        r"multiple streaming (jobs|queries)|only one streaming (job|query)|another instance of this query|"
        # A required setting left out: "'path' is not specified", "Option 'dbtable' or 'query' is required",
        # "'container' (Container name) is required", "The corpus path is null or empty".
        r"\b(property|parameter|option|field|setting|argument|path|table|container|name|value|key|id|identifier|url|"
        r"uri|host|hostname|endpoint|subscription)\b['\"`\w ()]{0,40}"
        r"\b(is|are) (required|not specified|null or empty|empty or null)\b|['\"`]\w+['\"`] is not specified|"
        # A requirement the setup does not meet, in plain words: something required but not provided, a
        # package not installed or not published for this version, a target that only reads, a combination
        # the service allows only in one form.
        r"required,? but (was |were |is |are )?not (provided|specified|supplied|set|given|enabled)|"
        r"\bnot installed\b|(is|are) not available for (this|your) version|"
        r"packagesnotfounderror|(conflicting|incompatible) dependencies|resolutionimpossible|"
        r"(is|are) read[- ]?only\b|\bread[- ]only (mode|table|namespace|database|file ?system|volume|replica)|"
        r"cannot be used (with|for|in|together|when)|can only be (used|run|called|specified) (with|for|in|on|when|by)|"
        r"(is|are) only supported (with|for|on|in|when|by)|"
        # A library built for another runtime: a method, field or class the runtime does not have.
        r"nosuchmethoderror|nosuchfielderror|classnotfoundexception|was removed in (spark|scala|python|databricks)|"
        r"(not compatible|incompatible) with (this |the )?(version|runtime|spark|scala|python|databricks|cluster)|"
        # What the subscription or region does not offer, what must be changed first, what may not be that big.
        r"not available (for|in) (your|this|the) (subscription|region)|"
        r"needs? to be (disabled|stopped|deleted|removed) first|must be (disabled|stopped|deleted) (first|before)|"
        r"(there is )?already (an object|a variable|a column|an entity) named|already contains a|"
        # What one job collects past a limit Spark sets ("Total size of serialized results of 12 tasks (4.1 GiB) is
        # bigger than spark.driver.maxResultSize (4.0 GiB)", TaskSetManager): the setting is raised or the job changed.
        r"(bigger|larger|greater) than spark\.[a-z]+\.[a-z.]+|"
        # IIS's ASP.NET Core Module pages: the app's process did not start (502.5 "ANCM Out-Of-Process Startup
        # Failure", 500.30 "ANCM In-Process Start Failure"): its deployment or settings, which a retry meets again.
        r"ancm (out-of-process startup|in-process start) failure|"
        # A module built against NumPy 1.x imported under NumPy 2 ("A module that was compiled using NumPy 1.x
        # cannot be run in NumPy 2.0.1"): the environment's versions.
        r"compiled using numpy [\w.]+ cannot be run in\s+numpy|" + CEILINGS + "|"
        # The job's own transaction or query outgrew what the engine allows a session (resource governance).
        r"session (is|has been) terminated because|terminated because of excessive [\w ]{1,30}usage|"
        r"(database|file ?system|volume|table|account) is (in )?read-only|name ?node is in safe mode|"
        r"no space left on device|not enough space on the disk|insufficient (system )?memory|filegroup is full|"
        r"(service|server|instance|database|pool|it) (has been|is) paused|no new connections will be allowed|"
        r"(decrease|increase|change) the configured value|server configuration option|"
        # The message names a setting to change, or a value that does not match the one the call specified.
        r"(increase|raise|set|adjust) (the )?spark\.[a-z]|invalidclassexception|local class incompatible|"
        # A container killed for going over its memory limit, with the setting to raise named ("Container
        # killed by YARN for exceeding memory limits ... Consider boosting spark.yarn.executor.memoryOverhead"):
        # the same job on the same sizes is killed again, like the OutOfMemoryError above.
        r"exceed\w* (the |its |their )?(physical |virtual )?memory limits?|"
        r"(consider )?(boosting|increasing|raising) spark\.[a-z]|"
        # A 4xx code named inside the body of a wrapper (an allocation failure, a 5xx, a deployment): the
        # request itself was refused as malformed, so resending it meets the same answer (issue 11: "5xx
        # answers whose body names a bad request"). Only the JSON or key=value form; BadRequest_* codes and
        # BAD_REQUEST with its own meaning (knowledge/*.toml) are not this.
        r"[\"']?code[\"']?\s*[:=]\s*[\"']?(badrequest|invalidparameter|invalidrequestcontent|invalidrequestformat)\b|"
        r"(doesn't|does not|do not|don't) match the (one|value) specified|does not support (http|https|tls)\b|"
        r"(same|shared|specific) checkpoint (location|directory)|to start over|non-empty (directory|location)|"
        # A service that names its own refusal of the request as malformed ("Settings operation failed due to a
        # bad request: Code = SparkSettingsComputeExceedsPoolLimit"): the same request meets the same answer.
        r"(failed|rejected|refused) (due to|because of|with) an? bad request|"
        # pip's own diagnostics for a package that does not build on this runtime (its error codes
        # subprocess-exited-with-error, metadata-generation-failed, legacy-install-failure): every install
        # builds it the same way.
        r"subprocess-exited-with-error|metadata-generation-failed|legacy-install-failure|failed building wheel|"
        # A pin the index does not hold: pip lists what the index answered ("Could not find a version that satisfies
        # the requirement pyodbc==5.9.9 (from versions: 4.0.39, 5.0.1)"); an index it could not reach lists
        # "(from versions: none)", which the missing-object sign leaves to the retries before it.
        r"satisfies the requirement [^\n]{1,120}\(from versions: (?!none\))|"
        # A cluster library whose other version is already installed ("PyPI package confluent-kafka has been
        # installed already"): the cluster is restarted before another version installs.
        r"has been installed already|"
        r"prepare_metadata_for_build_wheel",
    ),
    # The vocabulary of a request's validation: a value, type, format or feature the service refused. The
    # same request meets the same answer. In the development part every scored line with these words is a
    # never-class (tests/data/corpus/README.md); a list of possible causes ("Possible reasons may include
    # incompatible libraries", SPARK_STARTUP_FAILURE's documented text) is no statement about this failure.
    S(
        "validation",
        "InvalidConfiguration",
        r"incompatib|not compatible|malformed|(is|was|has been) disabled\b|(is|was) not enabled|deprecated|"
        r"no longer supported|(can ?not|must not|may not) be (null|empty)|not valid\b|cannot boot|"
        r"exceeds the (maximum|max|minimum|min) (allowed |permitted |supported )?value\b|"
        # A setting outside what the server allows (Kafka's INVALID_SESSION_TIMEOUT "not within the range allowed
        # by the broker", INVALID_TRANSACTION_TIMEOUT "larger than the maximum value allowed").
        r"not within the (range|limits?)\b|(larger|greater|smaller|less|higher|lower) than the (maximum|minimum) "
        r"(value )?(allowed|permitted)|"
        r"must be (a|an|one of|between|greater|less|at least|at most|specified|set|provided|unique|positive|"
        r"in the form|of the form)\b|"
        # A call inside an activity that the service refused as malformed (Cosmos DB's .NET client: "Response status
        # code does not indicate success: BadRequest (400); Substatus: 1001", a partition key the item lacks).
        r"does not indicate success: badrequest \(400\)|"
        # An Azure Functions host whose language worker does not start ("Failed to start language worker process
        # for: java"): its runtime or settings, which the next call meets again until the app is fixed.
        r"failed to start (a )?language worker process|"
        # A setting the client or service does not know: a name misspelt or meant for another version.
        r"(unrecogni[sz]ed|unknown|unsupported|invalid) (connection string |configuration |config )?"
        r"(option|property|parameter|setting|argument|keyword|key)s?\b",
        unless=r"possible (reasons?|causes?)|may (include|be caused)|could be (due|caused)",
    ),
    # A failure the reporting client or service itself declares beyond recovery: the Databricks SQL
    # connector raises NonRecoverableNetworkError for 401, 403 and 501, "because this can never succeed"
    # (databricks-sql-python src/databricks/sql/auth/retry.py); Windows reports a failed DNS lookup as "a
    # non-recoverable error" (WSANO_RECOVERY). Whatever network words surround it, a retry is refused.
    S(
        "not-recoverable",
        "InvalidConfiguration",
        r"\b(non-? ?|un|ir)recoverable|\bnot recoverable\b|can never succeed",
        # Not the ODBC driver's connection resiliency giving up on one connection ("The connection is broken and
        # recovery is not possible. The connection is marked by the client driver as unrecoverable."): a new
        # connection is made by the next run. Nor Kafka Connect's words for any exception a task did not catch
        # ("Task threw an uncaught and unrecoverable exception. Task is being killed and will not recover until
        # manually restarted"): the task's state, whose cause follows.
        unless=r"connection is marked by the client driver as unrecoverable|uncaught and unrecoverable exception",
    ),
    S(
        "still-running",
        "InvalidConfiguration",  # a waiter gave up while the run goes on: a rerun would run it twice
        r"(run|pipeline|job) .{0,60}(has|is) (still )?(inprogress|in progress|still running|queued)|"
        # The same in the databricks-sdk's waiter ("timed out after 0:20:00: current status:
        # RunLifeCycleState.RUNNING"), the Databricks CLI's ("timed out after 2h0m0s: current status: RUNNING") and
        # a command the client stopped waiting for ("Current state of command is Running").
        r"current status: (runlifecyclestate\.)?(running|pending|queued)\b|current state of command is running",
    ),
    # A person stopped it (the Jobs API's USER_CANCELED, knowledge/databricks_run_termination.toml: not a
    # failure needing healing); running it again would undo their decision.
    S(
        "cancelled-by-person",
        "Unknown",
        r"(cancell?ed|aborted|stopped) by (the |a |an )?(user|admin|administrator|owner|operator)\b|"
        # Not the Jobs API's run-state flag user_cancelled_or_timedout: it is there when false too, and when true
        # it does not say which of the two happened.
        r"user[_ ]cancell?ed(?!_or_timedout)|cancell?ed by user request",
    ),
    S(
        "terminating-cluster",
        "Unknown",
        # The cluster named by its id too ("the cluster 0101-abc is being terminated", "was permanently deleted").
        r"(cluster( [\w-]*\d[\w-]*)?|it) (is|was) ((being|in the process of being) terminated|terminating\b)|"
        r"terminated by (the )?(user|user_request|job_finished|an administrator)|"
        r"cluster( [\w-]*\d[\w-]*)? (was |has been )?(permanently )?deleted",
    ),
    # An init script that failed names the step, not why: a broken script fails again, a download inside it that
    # met an outage ("E: Failed to fetch ... 503", pip's connection resets) passes. Its veto stands where no
    # transient sign says why (autoheal/domain/classifier.py). Last, so that it is met only when no other never
    # sign is.
    S(
        "init-script",
        "InvalidConfiguration",
        r"init ?script .{0,80}fail|init_script_failure|script exit status is non-zero",
        step=True,
    ),
)
