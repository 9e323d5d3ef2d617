// Package ddsim is a Datadog API simulator: organisations with users and
// service accounts, roles and permissions, API keys and application keys,
// served over real HTTP for ddconn's tests and for `make dev`. It imports no
// Datadog code; its tests drive it with the official datadog-api-client-go
// and check every exchange against Datadog's own OpenAPI documents.
//
// # Endpoints
//
// Implemented operations (everything else under /api/ answers a JSON 404):
//
//	GET    /api/v1/validate                                   OPEN, API key only
//	GET    /api/v2/validate                                   OPEN, API key only (403 body is JSON:API)
//	GET    /api/v2/validate_keys                              OPEN
//	GET    /api/v2/current_user                               none
//	GET    /api/v2/current_user/application_keys              user_app_keys
//	POST   /api/v2/current_user/application_keys              user_app_keys (201, with key)
//	GET    /api/v2/current_user/application_keys/{id}         user_app_keys (Full; key only if ShowKeyOnRead)
//	PATCH  /api/v2/current_user/application_keys/{id}         user_app_keys (Full; key only if ShowKeyOnRead)
//	DELETE /api/v2/current_user/application_keys/{id}         user_app_keys (204)
//	GET    /api/v2/service_accounts/{sa}/application_keys      service_account_write
//	POST   /api/v2/service_accounts/{sa}/application_keys      service_account_write (201, with key)
//	GET    /api/v2/service_accounts/{sa}/application_keys/{id} service_account_write (Partial, never key)
//	PATCH  /api/v2/service_accounts/{sa}/application_keys/{id} service_account_write (Partial, never key)
//	DELETE /api/v2/service_accounts/{sa}/application_keys/{id} service_account_write (204)
//	GET    /api/v2/users                                      user_access_read
//	GET    /api/v2/permissions                                user_access_read
//	GET    /api/v2/api_keys                                   api_keys_read
//	POST   /api/v2/api_keys                                   api_keys_write (201, with key)
//	GET    /api/v2/api_keys/{id}                              api_keys_read
//	PATCH  /api/v2/api_keys/{id}                              api_keys_write (name required)
//	DELETE /api/v2/api_keys/{id}                              api_keys_delete (204)
//
// # Fidelity
//
// Authentication follows Datadog's documented behaviour:
// DD-API-KEY and DD-APPLICATION-KEY are matched case-insensitively; the
// validate endpoints check only the API key; every other route needs both,
// from the same org, the application key's owner enabled and both keys past
// their activation time. Bad or missing credentials and missing permissions
// all answer 403 {"errors":["Forbidden"]}. Permissions follow each
// operation's x-permission (any one listed permission suffices): an unscoped
// key has all of its owner's role permissions, a scoped key its scopes
// intersected with them. A deleted key fails the very next request.
//
// Keys: API keys are 32 lowercase hex characters, application keys 40; ids
// are random UUIDs; last4 is the secret's last four characters; times are
// RFC 3339 in UTC; unscoped keys report "scopes": null. The secret appears in
// 201 responses only, unless ShowKeyOnRead re-enables it on current-user GET
// and PATCH (and API key GET). Lists never carry it. PATCH changes only the
// attributes sent: "scopes": null makes a key unscoped, a missing "scopes"
// keeps them.
//
// Lists take page[size] (1–100, default 10), page[number] (from 0), sort
// (field, or -field for descending; application keys: name, created_at,
// last4; API keys add modified_at; users: name, email, status, created_at,
// modified_at, with sort_dir overriding the sign), filter (case-insensitive
// substring of the name; users also match email), filter[created_at][start]
// and [end] (inclusive, RFC 3339 or a date) and the include values the spec
// lists. Invalid values answer 400. Responses carry
// meta.page.total_filtered_count, meta.max_allowed_per_user (application
// keys), meta.max_allowed (API keys) and meta.page.total_count (users).
//
// # Knobs
//
// Options sets the clock, an activation delay for keys created over HTTP, the
// per-owner application-key limit (default 50; one more answers 400 with an
// errors body), a rate limit per API key per clock-aligned window (429 with
// X-RateLimit-Limit, -Period, -Remaining, -Reset in seconds and -Name on
// every response to a valid API key once enabled; SetRateLimit changes it at
// run time; Throttled counts its 429s), a latency added to every /api/
// request (Options.Latency, SetLatency: the round trip from AWS to
// Datadog), One-Time-Read, a JSON data file for persistence
// across restarts (written atomically, mode 0600, after each mutation) and a
// slog logger. Faults (AddFault, ClearFaults) make requests matching a method
// and path prefix wait and/or fail with a status, a given number of times;
// a fault with AfterChange carries the request out and then loses its
// answer (a reset connection, a status, or a timeout with a long delay);
// a 429 fault carries the X-RateLimit-* headers.
//
// Admin paths (no credentials, never faulted, not counted by APIRequests):
//
//	GET    /_sim/keys    every application key: [{"id","owner","name","last4","scopes","created_at"}], never the secret
//	GET    /_sim/faults  the queued faults
//	POST   /_sim/faults  {"method":"DELETE","pathPrefix":"/api/v2/service_accounts/","status":500,"count":1,"delayMs":0} → 204
//	POST   /_sim/faults  {"method":"POST","pathPrefix":"/api/v2/api_keys","afterChange":true} → 204: the key is created, the connection reset
//	DELETE /_sim/faults  clear every fault → 204
//	GET    /_sim/ratelimit  the rate limit in force: {"limit":0,"periodSeconds":10} (limit 0: off)
//	PUT    /_sim/ratelimit  {"limit":2,"periodSeconds":10} → 204; every key's count starts afresh
//
// # Demo organisation
//
// SeedDemo adds, with fixed values (see the Demo* constants):
//
//	org        ddconn demo, id 00000000-0000-4000-8000-000000000001, site datadoghq.com (US1)
//	API key    d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0, id 00000000-0000-4000-8000-0000000000d0, name ddconn-demo
//	admin      Demo Admin <admin@example.com>, id 00000000-0000-4000-8000-0000000000ad, role Datadog Admin Role (every catalogue permission)
//	rotator    service account ddconn-rotator, id 00000000-0000-4000-8000-0000000000a1
//	app key    a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1, id 00000000-0000-4000-8000-0000000001a1, name ddconn-rotator-initial,
//	           owned by the rotator, scopes user_app_keys, service_account_write, user_access_read, user_access_manage
//	writer     service account metrics-writer, id 00000000-0000-4000-8000-0000000000b2, no keys
//
// Both service accounts hold the role "ddconn Service Account Role"
// (id 00000000-0000-4000-8000-000000000e02): the four scopes above plus
// api_keys_read, api_keys_write, api_keys_delete and metrics_read. The demo
// application key is scoped, so it cannot manage API keys itself.
//
// # Known deviations and choices where Datadog's behaviour is unconfirmed
//
//   - A missing application key answers 403, never 401.
//   - Over the key limit: 400. Scopes must be known permission names held by
//     the key's owner, and not an empty list; otherwise 400 "Invalid scopes".
//   - Duplicate scopes are accepted and folded into one: the spec declares
//     scopes a plain array of names (no uniqueItems, no 400 for repeats),
//     and a key's scopes are a set of permissions. The answer lists each
//     scope once, in the order first given.
//   - PATCH whose body id differs from the path id: 400.
//   - Application-key names may repeat; API-key names are unique per org (400).
//     At most 50 API keys per org (400).
//   - One-Time-Read also hides API key secrets on GET; real Datadog shows them
//     to api_keys_read holders.
//   - POST to the service-account key route of an unknown service account
//     answers 404, a status the spec does not declare for that operation.
//   - Unknown paths and wrong methods answer 404 (not 405).
//   - Sorting by name is byte order (upper case first). No pending users;
//     include_scopes is accepted and ignored; the permission catalogue is a
//     subset of Datadog's.
//   - last_used_at and date_last_used change on each authenticated request
//     but reach the data file only with the next mutation.
//   - Faults apply before authentication; injected 5xx statuses are not
//     declared by the spec, so the Go client leaves Model() nil for them.
//   - Not implemented: org-wide /api/v2/application_keys,
//     POST /api/v2/service_accounts, the v1 key
//     endpoints, OAuth and bearer tokens, keys as query parameters.
package ddsim
