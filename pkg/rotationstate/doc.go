// Package rotationstate holds the rotation settings and state of a ddconn
// secret, for every kind: the schedule and window given to Secrets Manager
// (ParseSchedule), the revocation policy (RevokePolicy), the retired keys
// awaiting revocation (Retirement), and the State users see, read from the
// secret's metadata alone.
//
// It is pure: it reads and writes tag values, never a remote service, so
// package connection, package managedkey and package rotation all describe
// rotation the same way without depending on each other.
package rotationstate
