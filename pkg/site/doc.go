// Package site holds the allow-list of Datadog sites and turns the URL a user
// pastes into one of them.
//
// The URL of a connection decides where ddconn sends the connection's keys, so
// it is an SSRF vector: Parse accepts only the Datadog API hosts and the site
// forms users copy from their browser (us5.datadoghq.com,
// https://app.datadoghq.eu), and rejects everything else (userinfo, ports,
// paths, queries, fragments, IP literals, trailing dots, look-alike hosts,
// other schemes) before any network call is made.
package site
