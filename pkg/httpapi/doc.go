// Package httpapi is ddconn's HTTP API: net/http handlers with Go 1.22
// method+path patterns, one route table (Routes), and one error envelope.
//
// Each Lambda function serves only its own routes (NewCreateHandler,
// NewValidateHandler, NewManageHandler); `make dev` mounts all of them on one
// server (NewMux). Handlers translate: they decode and bound the request,
// call the connection service (or, for the manage function's
// …/application-keys and …/api-keys routes, the managed-key service given
// as Options.ManagedKeys), and map its typed errors to status codes. They
// hold no business rules.
//
// Every error answer, including unknown routes and wrong methods, is
//
//	{"error":{"code":"…","message":"…","details":[{"field":"…","message":"…"}]},"requestId":"…"}
//
// with the request id that is also on every log record of the request.
package httpapi
