"""The never-class signs of access: a name that does not resolve, a network not allowed, an integration
runtime that cannot be reached by its name, credentials, a permission, a certificate not trusted, a policy.
First of ``NEVER_SIGNS`` (autoheal/domain/rules.py, whose docstring says how the signs are written and read),
in this order: the first that matches names the class. Split from rules.py for its size only.
"""

from __future__ import annotations

from autoheal.domain.knowledge import Table, table
from autoheal.domain.signs import FRAME_LINE, S, Sign

# The Entra sign-in codes the reference calls transient (AADSTS90033 "A transient error has occurred").
_ENTRA = [(code, entry) for code, entry in table(Table.AZURE).items() if code[:6] == "AADSTS" and code[6:].isdigit()]
_PASSING = [code.lower() for code, entry in _ENTRA if entry.remediable]
_PASSING_AADSTS = "(" + "|".join(_PASSING) + r")\b"

ACCESS_SIGNS: tuple[Sign, ...] = (
    S(
        "network-configuration",
        "InvalidConfiguration",
        r"could not resolve (host|the host|hostname)|name or service not known|no such host( is known)?|"
        # A proxy the client is set up to go through: its credentials (407), its scheme, its tunnel. requests'
        # ProxyError and .NET's proxy tunnel failure name it; the same settings meet the same proxy again.
        r"proxyerror|unable to connect to proxy|proxy authentication required|proxy tunnel request|"
        # Not getaddrinfo's EAI_AGAIN, a name server's temporary failure (transient.py).
        r"nodename nor servname|getaddrinfo(?! eai_again)|unknown host|dns (resolution|lookup) (failed|error)|"
        r"blocked by (the |a |your )?firewall|firewall (rules? |settings? )?(blocks|blocked|denie[sd]|prevent)|"
        # A service's firewall named after the words that block: "blocked by your Cosmos DB account firewall".
        r"blocked by [\w ]{0,40}firewall|not accessible from (the |your )?(current |this )?network|"
        # The same lookup in .NET's and Java's words ("The remote name could not be resolved", WebException's
        # NameResolutionFailure; java.nio.channels.UnresolvedAddressException), the name or address written first.
        r"(remote name|host ?name|host|server name|server|address|domain name)\b"
        r"(:? ?['\"][^'\"]{1,100}['\"])?[^.]{0,40}"
        r"(could not|cannot|can't|couldn't) be resolved|unresolvedaddressexception|"
        # CloudFront's 502 page: "CloudFront wasn't able to resolve the origin domain name."
        r"(wasn't|was not|were not|weren't) able to resolve the [\w ]{0,20}(domain|host) ?name|"
        # A client address the server's allow list does not hold, a network with no way out to the target:
        # the same address is refused again.
        r"not (in|on) the allow ?list|not (in|on) the allowed list|not (in|on) the white ?list|"
        r"not (allow|white)-?listed|"
        r"(client )?ip( address)? ['\"]?[\d.:]+['\"]? (is )?not (allowed|permitted|authori[sz]ed)|"
        r"no (outbound|egress|internet|public) (network )?(access|connectivity)|"
        r"outbound (network |internet )?(access|traffic) (is )?(blocked|disabled|denied|restricted)|"
        r"(private link|private endpoint) .{0,60}"
        r"(not accessible|not reachable|misconfigured|not (properly )?configured)|"
        r"not allowed .{0,30}firewall|client with ip address|ip address .{0,60}(not allowed|is not authorized)|"
        r"client address .{0,40}is not authorized|not a trusted service|"
        r"not reachable via ssh|login timeout expired|check (your|the) network configuration|"
        # Not a managed private endpoint still being made ("... is in provisioning state 'Provisioning'. Private
        # endpoint provisioning in progress, please retry after the provisioning completes"): that wait ends.
        r"public network access|private endpoint(?![^.]{0,120}provisioning state '?provisioning|"
        r"\s+provisioning (is )?in progress)|network security group|\bnsg\b|"
        r"(vnet|subnet)s? .{0,60}(does not exist|not found|is full|exhausted|no longer|deleted|misconfig)|"
        r"subnetisfull|invalidresourcereference|route table|user network configuration|due to misconfig|"
        r"network configuration (error|failure|issue)|network_configuration_failure|"
        # A bootstrap failure that names the workspace's network as its likely cause ("This is likely due to the
        # network configuration of the workspace (custom DNS, firewall or user-defined routes blocking outbound
        # traffic)"); the Event Hubs Kafka endpoint on 9092, where it listens only on 9093 (its Kafka overview).
        r"network configuration of (the|your) workspace|routes? blocking (outbound|egress)|"
        # botocore's own hint where the endpoint it built from the region does not resolve ("Could not connect to
        # the endpoint URL ... please verify your region value").
        r"verify your region|"
        r"servicebus\.windows\.net:9092\b|"
        # A subnet delegated to a service can hold only that service's resources: Batch pools, cluster
        # nodes and NICs fail to allocate in it until a person removes the delegation ("Allocation failed as
        # subnet has delegation to external resources", SupportArticles-docs azure-batch-pool-resizing-failure;
        # AKS and VNet injection document SubnetIsDelegated the same way). Allocation wording is no blip here.
        r"subnet .{0,40}(has |is )?delegat(ed|ion)|delegated subnet|subnetisdelegated",
    ),
    S(
        "integration-runtime",
        "InvalidConfiguration",
        r"integr?ation ?runtime .{0,80}(not registered|does not exist|not found|limit|expired|is not running)|"
        r"(unable|failed|cannot) to connect to .{0,60}(self-hosted\)?|shir) nodes?|"
        r"(self-hosted|shir) .{0,40}(authentication key|registration)|authentication key is (missing|invalid)|"
        r"frontend\.clouddatahub|"
        r"failed to connect to .{0,30}(frontend|clouddatahub|servicebus)|issue on registering|"
        # A node that cannot be reached by its name is a DNS or node-name configuration, not a blip.
        r"(not reachable|cannot be reached|unreachable|not resolvable) by (its )?(name|host ?name|fqdn|dns)",
        # Not a limit on how many jobs a node runs at once: it frees as they finish (transient.py).
        unless=r"concurrent (jobs|activities|runs)",
    ),
    S(
        "credentials",
        "PermissionDenied",
        # Not SQL Server's 18401 and 18461 ("Login failed for user 'etl'. Reason: Server is in script upgrade mode.
        # Only administrator can connect at this time."): refused for the server's state, not for the login
        # (knowledge/sql_server_errors.toml decides the two).
        r"login failed(?! for user .{0,130}?reason: server is in (script upgrade|single user) mode)|"
        r"failed to (log ?in|sign ?in|authenticate)|authentication (has )?failed|"
        r"authenticationfailed|invalid (access |bearer |auth )?token|"
        r"token (has |is )?(expired|invalid|revoked)|expired (access )?token|access token (failure|is invalid)|"
        r"invalid[_ ](client|grant|credentials?)|credentials? (are|is|were|was) (invalid|incorrect|missing|expired)|"
        # The token endpoint's URL, unless its answer follows, as Hadoop's ABFS driver quotes it ("HTTP Error 503;
        # url='https://login.microsoftonline.com/<tenant>/oauth2/token' ... response '{"error":
        # "temporarily_unavailable","error_description":"AADSTS90033: ..."}'), and is OAuth's error for a server
        # overloaded or in maintenance (RFC 6749, 4.1.2.1) or an Entra code the reference calls transient.
        r"oauth2?/(v2\.0/)?token(?!.{0,400}?(\"error\": ?\"temporarily_unavailable\"|"
        r"\"error_description\": ?\"" + _PASSING_AADSTS + r"))|"
        r"(password|username or password|user name or password) (is |was |has )?(incorrect|invalid|expired|wrong)|"
        r"password (for|of) .{0,60}(has |have )?expired|"
        # The database engines' wording: Oracle's ORA-01017 "invalid username/password; logon denied", MySQL's
        # 1045 "Access denied for user 'etl'@'10.0.0.4' (using password: YES)".
        r"invalid (username|user name|user)/password|logon denied|access denied for user|"
        # The adjective first (Snowflake's 390100 "Incorrect username or password was specified"), and a key or
        # password the server turned away (OpenSSH's "Permission denied (publickey)", an SFTP server that
        # "rejected the public key").
        r"(incorrect|invalid|wrong|bad) (username|user name|user id|login|password)\b|"
        r"(rejected|refused|did not accept) (the |our |your |my )?(public key|password|credentials|login)|"
        r"permission denied \(publickey|"
        # Not the Entra sign-in codes: the reference's table decides each (knowledge/azure_errors.toml).
        r"unauthenticated|signature (did not match|mismatch)|"
        # S3's SignatureDoesNotMatch: "The request signature we calculated does not match the signature you
        # provided. Check your key and signing method."
        r"signaturedoesnotmatch|signature [\w ]{0,30}does not match|invalidaccesskeyid|"
        r"unable to locate credentials|nocredentialserror|"
        r"sas token|key vault .*(access|forbidden|denied)|secret .* (expired|not authorized)|"
        r"(is|was|been) locked out|wrong tenant|(account|user) (is )?(locked|disabled)\b|"
        # A connection whose OAuth refresh token no longer refreshes: its credential must be entered again (Fabric
        # and Power BI gateways' DMTS_OAuthTokenRefreshFailedError; a code's words count as text, classifier.py).
        r"token refresh(ing)? failed|(failed|unable|could not) (to )?refresh (the |an? )?"
        r"(oauth |access |refresh )?token|"
        r"refresh token (has |is |was )?(expired|invalid|revoked)",
        # azure-identity writes "Authentication failed:" before every Entra answer, the transient ones too
        # ("Authentication failed: AADSTS90033: A transient error has occurred"): those decide as their codes do.
        # Nor where the token endpoint itself asked for a wait: the managed-identity endpoint's 429
        # ("ManagedIdentityCredential authentication failed: Service request failed. Status: 429 (Too Many
        # Requests)") or 5xx, MSAL's throttling
        # ("Request was throttled according to instructions from STS. Retry in 93486 ms").
        unless=r"(continuation|pagination|page|cancellation) token|authentication failed: " + _PASSING_AADSTS + "|"
        r"authentication failed: service request failed\.\s+status: (429|50[234])\b|"
        r"throttled according to instructions from sts",
    ),
    S(
        "permission",
        "PermissionDenied",
        # A status, not a quantity ("the current usage for the database is 401", SQL's 10929) nor a stack frame's line
        # ("ConflictChecker.scala:401", 'File "x.py", line 403'): signs.py's FRAME_LINE.
        r"(?<!is )" + FRAME_LINE + r"\b(401|403)\b|forbidden|not authori[sz]ed|unauthori[sz]ed|"
        r"access (is |was )?denied|accessdenied|"
        r"access to .{0,60} (is |was )?denied|"
        # A Key Vault-backed secret scope the workspace cannot read ("INVALID_STATE: Databricks could not access
        # keyvault: https://kv.vault.azure.net/"): the vault's access policy or firewall.
        r"could not access (the )?key ?vault|"
        r"permission(s)? (denied|(is |are )?required|mismatch)|permission_denied|"
        r"insufficient (privilege|permission|access)|"
        r"does not have (the )?(required |sufficient |necessary |enough )?"
        r"(permission|privilege|authori[sz]ation|access|role)|"
        r"do(es)? not have (permission|access|privilege)|"
        r"(lacks?|missing) (the )?(required )?(permission|privilege|role)|"
        r"'manage' permission|authorizationfail|authorizationpermissionmismatch|not permitted|"
        r"sufficient (privileges|permissions|rights)|"
        r"acl verification failed|accesscontrolexception|is not allowed to (access|perform|read|write)|"
        # PostgreSQL's host-based authentication refusing this client, user and database (28000).
        r"no pg_hba\.conf entry|"
        r"(user|principal|identity|service principal) .{0,80}(does not have|has no|is not authori)|"
        # A role or grant named as missing: "does not have Owner or Contributor role", "needs permissions
        # ... that only an admin can grant".
        r"(does not|doesn't) have [\w ,/-]{0,40}\broles?\b|(needs?|requires?) (the )?permissions? to|"
        r"only an? (admin|administrator) can grant|"
        # A Databricks permission level named as lacking (databricks-sdk iam.PermissionLevel: CAN_USE,
        # CAN_MANAGE, CAN_ATTACH_TO, ..., IS_OWNER): "the service principal lacks CAN_USE on the cluster policy".
        r"(lacks?|lacking|missing|without|requires?|needs?|(does not|doesn't|do not|don't) have) (the )?"
        r"(can_[a-z_]+|is_owner)\b",
        # A Google API body whose reason says the 403 was a rate limit (autoheal/domain/knowledge/
        # http_and_api_errors.toml: rateLimitExceeded, userRateLimitExceeded).
        # BigQuery answers its rate limits with 403 ("403 Exceeded rate limits: too many concurrent queries for this
        # project", reason rateLimitExceeded): its troubleshooting page has them retried with backoff.
        unless=r"403 (forbidden )?when downloading|proxy|\"reason\": ?\"(user)?ratelimitexceeded\"|"
        r"exceeded rate limits",
    ),
    S(
        "certificate-trust",
        "InvalidConfiguration",
        r"certificate[ _](verify|verification|validation|chain)[ _]?(failed|error)|certificate_verify_failed|"
        r"remote certificate (is )?invalid|untrusted (root|certificate)|not trusted|pkix path|"
        r"valid certification path|self[- ]signed certificate|certificate (has )?expired|"
        r"(host ?name|certificate name) mismatch|ssl ?(handshake|connection) (failed|could not be established)|"
        r"could not establish trust relationship|x509|finger-?print validation failed|host key|"
        r"private key|cryptographic (module|algorithm)|identity check failed|expected dns identity|\bfips\b|"
        r"access .{0,20}to the certificate|error occurred during the pre-login handshake|"
        # Microsoft's JDBC driver when the TLS session is refused ("The driver could not establish a secure
        # connection to SQL Server by using Secure Sockets Layer (SSL) encryption"): versions or certificates. Not
        # where its inner error is the connection dropping ('Error: "Connection reset ClientConnectionId:...'):
        # the handshake met a network that cut it, which the connection words judge.
        r"could not establish a secure connection(?![^\n]{0,120}error: \"(connection reset|read timed out|"
        r"connection timed out|socket closed))|"
        # The server refused the TLS parameters (protocol, cipher, certificate): a handshake alert, not a blip.
        r"received fatal alert|handshake_failure|chain building failed|trust chain|certificate chain|"
        # A TLS version one side requires and the other does not offer: the same two meet the same way.
        r"requires tls ?(v|version )?\d|tls ?(v|version )?1\.[0-3] .{0,30}(required|not supported|disabled)|"
        r"(ssl|tls) (protocol )?versions? (mismatch|not supported|is not supported|disabled)|"
        r"unsupported (ssl |tls )?protocol( version)?\b",
    ),
    S(
        "policy",
        "InvalidConfiguration",
        r"polic(y|ies) (prevents?|blocks?|forbids?|prohibits?|does not allow|restricts?|violation|denied|disallow)|"
        r"(violat\w*|disallowed by|denied by|not allowed by|blocked by|against) (the |a |an |your )?"
        r"(\w+[ -]){0,3}polic(y|ies)|requestdisallowedbypolicy|administrator-defined policy",
    ),
)
