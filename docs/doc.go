// Package docs holds ddconn's documentation (README.md at the repository
// root and the Markdown files here, with openapi.yaml) and the tests that
// keep it true: every walkthrough runs as written against a fresh dev
// stack, the API reference in api.md matches openapi.yaml, and relative
// links resolve. It has no code of its own.
package docs
