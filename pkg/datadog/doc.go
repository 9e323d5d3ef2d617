// Package datadog is ddconn's adapter over Datadog's API client
// (github.com/DataDog/datadog-api-client-go/v2). It is the only package that
// imports that client.
//
// A Client is built once and shared: credentials and the target site travel
// in the context of each call (datadog.ContextAPIKeys and
// datadog.ContextServerVariables), never in the client itself, so one Client
// serves every connection concurrently.
//
// In dev and tests Options.BaseURL sends every call to the Datadog simulator
// through the client's second server template ({protocol}://{name}). The site
// of the Credentials is then ignored for routing, but it has already been
// allow-listed by package site, so user input never chooses a host.
//
// Errors: every failed call returns an *APIError that wraps one of
// ErrUnauthorized, ErrNotFound, ErrBadRequest or ErrUnavailable, so callers
// branch with errors.Is. Messages come from Datadog's error body; they never
// carry headers or key material.
package datadog
