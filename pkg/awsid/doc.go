// Package awsid checks the syntax of AWS identifiers ddconn reads from
// its users and its events. It imports nothing of ddconn's, so the CLI and
// the stand-ins can use it too.
package awsid
